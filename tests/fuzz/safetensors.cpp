// Fuzzes the safetensors reader: header parsing and validation, then every tensor's lookup,
// element count and (for float dtypes) conversion to fp32, touching every byte of its view.
#include "framework/io/safetensors.h"
#include "tests/fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = (qzo::fuzz::work_dir() / "model.safetensors").string();
  qzo::fuzz::write_file(path, data, size);
  try {
    const qzo::SafetensorsReader reader = qzo::SafetensorsReader::open(path);
    (void)reader.metadata();
    for (const std::string& name : reader.names()) {
      const qzo::TensorView& view = reader.get(name, reader.get(name).shape);
      volatile uint8_t sum = 0;
      for (size_t i = 0; i < view.nbytes; ++i) sum += static_cast<const uint8_t*>(view.data)[i];
      (void)view.numel();
      (void)reader.file_of(name);
      if (view.dtype == qzo::DType::F32 || view.dtype == qzo::DType::F16 || view.dtype == qzo::DType::BF16)
        (void)reader.read_f32(name, view.shape);
    }
    (void)reader.has("model.embed_tokens.weight");
    qzo::fuzz::note_accepted();
    (void)reader.get("model.embed_tokens.weight");  // absent in most inputs: a named rejection
  } catch (const qzo::Error& e) {
    qzo::fuzz::check_rejection(e, path);
  }
  return 0;
}
