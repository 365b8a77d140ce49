// Model weights as safetensors (float32, parameter names of src/model/transformer.h),
// readable by Python's safetensors library.
#pragma once
#include <functional>
#include <map>
#include <string>

namespace sinklab {

class Transformer;

// `rename` (optional) gives each parameter's name in the file (src/model/hf_export.h
// writes Hugging Face names); the checksum covers the tensors either way.
void save_weights(const Transformer& model, const std::string& path,
                  const std::map<std::string, std::string>& metadata = {},
                  const std::function<std::string(const std::string&)>& rename = {});
// Loads every parameter of `model` from `path`; InputError (naming the file) for
// missing tensors, shape mismatches, unsupported dtypes or a corrupt file.
std::map<std::string, std::string> load_weights(Transformer& model, const std::string& path);

}  // namespace sinklab
