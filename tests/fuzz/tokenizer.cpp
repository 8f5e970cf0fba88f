// Fuzzes tokenizer.json: Tokenizer::from_file, then encoding (and decoding) a short string
// with plain, accented, CJK, emoji and special-token-like text.
#include "framework/tokenizer/tokenizer.h"
#include "tests/fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = (qzo::fuzz::work_dir() / "tokenizer.json").string();
  qzo::fuzz::write_file(path, data, size);
  try {
    const qzo::Tokenizer tok = qzo::Tokenizer::from_file(path);
    const std::string text = "Hello, world! caf\xc3\xa9 \xe4\xbd\xa0\xe5\xa5\xbd \xf0\x9f\x98\x80 <s></s>  12 \n\tok";
    for (bool special : {true, false}) {
      const std::vector<int32_t> ids = tok.encode(text, special);
      (void)tok.decode(ids, special);
    }
    (void)tok.vocab_size();
    (void)tok.bos_id();
    (void)tok.eos_id();
    (void)tok.token_to_id("a");
    qzo::fuzz::note_accepted();
  } catch (const qzo::Error& e) {
    qzo::fuzz::check_rejection(e, path);
  }
  return 0;
}
