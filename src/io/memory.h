// The memory a command may use, for estimates checked before large allocations.
#pragma once
#include <string>

namespace sinklab {

// MemAvailable of /proc/meminfo in bytes (what can be allocated without swapping);
// 0 when unknown (callers then skip their check).
double available_memory_bytes();

// InputError "WHAT needs about X GiB, but only Y GiB of memory is available" when
// need_bytes exceeds the available memory.
void require_memory(double need_bytes, const std::string& what);

}  // namespace sinklab
