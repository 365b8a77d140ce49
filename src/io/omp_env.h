// The OpenMP wait policy of sinklab's processes.
//
// Debian's LibTorch runs elementwise ops on libgomp's OpenMP threads and matrix
// products on OpenBLAS's own pthreads. libgomp's default lets an idle OpenMP worker spin
// for a while before it sleeps, so during every GEMM the spinning workers take the cores
// from OpenBLAS's threads: on 2 cores, 2-thread training ran at half the speed of
// 1 thread (docs/benchmarks.md). OMP_WAIT_POLICY=PASSIVE (workers sleep at once) fixes
// it, but libgomp reads the variable once, when it is loaded, before main() runs.
#pragma once

namespace sinklab {

// If OMP_WAIT_POLICY is unset, sets it to PASSIVE and re-executes this program (argv
// unchanged, /proc/self/exe) once, so libgomp starts with it. A value the user set is
// left alone; SINKLAB_OMP_REEXEC=0 disables the re-execution. Returns normally when no
// re-execution is needed or possible. Call first thing in main().
void ensure_omp_passive(char** argv);

}  // namespace sinklab
