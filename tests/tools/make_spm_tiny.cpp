// Generates tests/data/tokenizer/spm_tiny.json: a tiny SentencePiece BPE model
// trained with Debian's libsentencepiece, its vocabulary (pieces, scores, types)
// and the ids SentencePiece gives for a few test strings. Not built by CMake; run:
//   mkdir -p /tmp/spm && cd /tmp/spm
//   /usr/bin/python3 -c 'import json; out = open("corpus.txt", "w")
//   for k, line in enumerate(open("REPO/data/domains/prose_wikipedia.jsonl")):
//       if k == 150: break
//       for par in json.loads(line)["text"].split("\n"):
//           if par.strip(): out.write(par[:2000] + "\n")'
//   g++ -O1 -std=c++17 REPO/tests/tools/make_spm_tiny.cpp -o make_spm_tiny -lsentencepiece -lsentencepiece_train
//   ./make_spm_tiny            # writes spm_tiny.json here
// then tests/tools/spm_llamacpp_reference.py adds llama.cpp's ids to it.
// test_tokenizer.cpp checks that sinklab's SentencePiece-style tokenizer gives the
// same ids (the user-defined-symbol case differs by design: llama.cpp prepends a
// space after a special token, SentencePiece does not).
#include <sentencepiece_trainer.h>
#include <sentencepiece_processor.h>
#include <iostream>
#include <fstream>
#include <nlohmann/json.hpp>
int main() {
  auto st = sentencepiece::SentencePieceTrainer::Train(
    "--input=corpus.txt --model_prefix=tiny --vocab_size=600 --model_type=bpe --byte_fallback=true "
    "--normalization_rule_name=identity --remove_extra_whitespaces=false --add_dummy_prefix=true "
    "--split_digits=true --character_coverage=0.995 --user_defined_symbols=<sep> --minloglevel=2");
  if (!st.ok()) { std::cerr << st.ToString() << "\n"; return 1; }
  sentencepiece::SentencePieceProcessor sp;
  if (!sp.Load("tiny.model").ok()) return 1;
  nlohmann::json j;
  std::vector<std::string> pieces; std::vector<float> scores; std::vector<int> types;
  for (int i = 0; i < sp.GetPieceSize(); ++i) {
    pieces.push_back(sp.IdToPiece(i)); scores.push_back(sp.GetScore(i));
    int t = 1;
    if (sp.IsUnknown(i)) t = 2; else if (sp.IsControl(i)) t = 3; else if (sp.IsUnused(i)) t = 5; else if (sp.IsByte(i)) t = 6;
    types.push_back(t);
  }
  // user defined: check via model proto is harder; mark "<sep>" by name
  for (size_t i = 0; i < pieces.size(); ++i) if (pieces[i] == "<sep>") types[i] = 4;
  j["tokens"] = pieces; j["scores"] = scores; j["token_types"] = types;
  j["bos_id"] = sp.bos_id(); j["eos_id"] = sp.eos_id(); j["unk_id"] = sp.unk_id();
  std::vector<std::string> cases = {
    "Hello world", "The mountain has three tops that, together, form an isolated summit.",
    "  two leading spaces", "trailing space ", "multiple   spaces\tand\ttabs",
    "line one\nline two\n\nline four", "numbers 1234567 and 3.14159", "Zürich, Köln and Genève",
    "日本語のテキスト", "emoji 🙂 and ✓ check", "", " ", "a", "UPPERCASE lower MiXeD",
    "the the the the", "sep<sep>arated text", "control chars \x01\x02 here",
    "Wikipedia: an encyclopedia (free) [1] {2} <3> 'quoted' \"double\"",
  };
  nlohmann::json cs = nlohmann::json::array();
  for (auto& c : cases) {
    std::vector<int> ids; sp.Encode(c, &ids);
    std::string dec; sp.Decode(ids, &dec);
    cs.push_back({{"text", c}, {"ids", ids}, {"decoded", dec}});
  }
  j["cases"] = cs;
  std::ofstream("spm_tiny.json") << j.dump() << "\n";
  std::cout << "vocab " << pieces.size() << "\n";
}
