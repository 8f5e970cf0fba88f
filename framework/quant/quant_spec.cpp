// Parsing and validation of QuantSpec.
#include "framework/quant/quant_spec.h"

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <sstream>

#include "framework/core/error.h"

namespace qzo {
namespace {

std::string trim(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

int parse_int(const std::string& spec, const std::string& key, const std::string& value) {
  size_t used = 0;
  int v = 0;
  try {
    v = std::stoi(value, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != value.size())
    fail("quantizer spec '" + spec + "': " + key + " must be an integer, got '" + value + "'");
  return v;
}

bool parse_bool(const std::string& spec, const std::string& key, const std::string& value) {
  if (value == "true" || value == "1" || value == "yes") return true;
  if (value == "false" || value == "0" || value == "no") return false;
  fail("quantizer spec '" + spec + "': " + key + " must be true or false, got '" + value + "'");
}

}  // namespace

QuantMethod quant_method_from_name(const std::string& name) {
  if (name == "rtn") return QuantMethod::Rtn;
  if (name == "nf4") return QuantMethod::Nf4;
  if (name == "gptq") return QuantMethod::Gptq;
  if (name == "codebook") return QuantMethod::Codebook;
  fail("quant.method: expected 'rtn', 'nf4', 'gptq' or 'codebook', got '" + name + "'");
}

std::string quant_method_name(QuantMethod method) {
  switch (method) {
    case QuantMethod::Nf4: return "nf4";
    case QuantMethod::Gptq: return "gptq";
    case QuantMethod::Codebook: return "codebook";
    default: return "rtn";
  }
}

QuantSpec QuantSpec::defaults(QuantMethod method) {
  QuantSpec s;
  s.method = method;
  if (method == QuantMethod::Nf4) {
    s.bits = 4;
    s.group_size = 64;
    s.symmetric = true;
  }
  if (method == QuantMethod::Codebook) {
    s.bits = 3;
    s.group_size = 0;  // one trainable scale per output channel
    s.symmetric = true;
  }
  return s;
}

QuantSpec QuantSpec::parse(const std::string& text) {
  const size_t colon = text.find(':');
  QuantSpec spec = defaults(quant_method_from_name(trim(text.substr(0, colon))));
  if (colon != std::string::npos) {
    std::stringstream options(text.substr(colon + 1));
    std::string item;
    while (std::getline(options, item, ',')) {
      const size_t eq = item.find('=');
      if (eq == std::string::npos)
        fail("quantizer spec '" + text + "': expected key=value, got '" + trim(item) + "'");
      const std::string key = trim(item.substr(0, eq)), value = trim(item.substr(eq + 1));
      if (key == "bits") {
        spec.bits = parse_int(text, key, value);
      } else if (key == "group_size") {
        spec.group_size = value == "channel" ? 0 : parse_int(text, key, value);
      } else if (key == "symmetric") {
        spec.symmetric = parse_bool(text, key, value);
        if (!spec.scalar_codes() && !spec.symmetric)
          fail("quantizer spec '" + text + "': symmetric=false applies to rtn and gptq only (" +
               quant_method_name(spec.method) + " has no zero points)");
      } else if (key == "desc_act") {
        spec.desc_act = parse_bool(text, key, value);
      } else if (key == "damp") {
        size_t used = 0;
        try {
          spec.damp = std::stod(value, &used);
        } catch (const std::exception&) {
          used = 0;
        }
        if (used == 0 || used != value.size())
          fail("quantizer spec '" + text + "': damp must be a number, got '" + value + "'");
      } else if (key == "double_quant") {
        spec.double_quant = parse_bool(text, key, value);
        if (spec.method != QuantMethod::Nf4 && spec.double_quant)
          fail("quantizer spec '" + text + "': double_quant=true applies to nf4 only (it quantizes the absmax)");
      } else {
        fail("quantizer spec '" + text + "': unknown key '" + key +
             "' (expected bits, group_size, symmetric, double_quant, desc_act, damp)");
      }
    }
  }
  spec.validate();
  return spec;
}

void QuantSpec::validate() const {
  const std::string name = quant_method_name(method);
  if (scalar_codes()) {
    if (bits != 2 && bits != 3 && bits != 4 && bits != 8)
      fail("quant.bits: " + name + " supports 2, 3, 4 or 8 bits, got " + std::to_string(bits));
  } else if (method == QuantMethod::Codebook) {
    if (bits < 2 || bits > 4) fail("quant.bits: codebook supports 2, 3 or 4 bits, got " + std::to_string(bits));
    if (group_size != 0)
      fail("quant.group_size: codebook has one scale per output channel (group_size 0), got " +
           std::to_string(group_size));
  } else if (bits != 4) {
    fail("quant.bits: nf4 is 4-bit, got " + std::to_string(bits));
  }
  if (desc_act && method != QuantMethod::Gptq) fail("quant.desc_act: applies to gptq only, got " + name);
  if (!(damp > 0 && damp < 1)) fail("quant.damp: expected a number in (0, 1), got " + std::to_string(damp));
  if (group_size < 0)
    fail("quant.group_size: expected a positive group size or 0 (per channel), got " +
         std::to_string(group_size));
  if (double_quant && method != QuantMethod::Nf4)
    fail("quant.double_quant: applies to nf4 only, got " + quant_method_name(method));
}

int QuantSpec::resolved_group_size(int in_features, const std::string& tensor) const {
  validate();
  const int g = group_size == 0 ? in_features : group_size;
  if (in_features <= 0 || in_features % g != 0)
    fail(tensor + ": in_features " + std::to_string(in_features) +
         " is not divisible by quant.group_size " + std::to_string(g));
  return g;
}

std::string QuantSpec::label() const {
  const std::string group = group_size > 0 ? "g" + std::to_string(group_size) : "channel";
  if (method == QuantMethod::Nf4) return (double_quant ? "nf4dq-" : "nf4-") + group;
  if (method == QuantMethod::Codebook) return "codebook" + std::to_string(bits) + "-" + group;
  return quant_method_name(method) + std::to_string(bits) + (symmetric ? "s-" : "-") + group + (desc_act ? "-act" : "");
}

std::string QuantSpec::to_string() const {
  std::string s = quant_method_name(method) + ":bits=" + std::to_string(bits) + ",group_size=" +
                  (group_size == 0 ? std::string("channel") : std::to_string(group_size));
  if (scalar_codes()) s += std::string(",symmetric=") + (symmetric ? "true" : "false");
  // Written only when set, so that plain NF4's string (logged with every run) is unchanged.
  if (double_quant) s += ",double_quant=true";
  if (method == QuantMethod::Gptq) {
    // The shortest text that parses back to the same double ("0.01", not 0.01000000000000000021).
    char damp_text[32];
    for (int digits = 6; digits <= 17; ++digits) {
      std::snprintf(damp_text, sizeof damp_text, "%.*g", digits, damp);
      if (std::strtod(damp_text, nullptr) == damp) break;
    }
    s += std::string(",desc_act=") + (desc_act ? "true" : "false") + ",damp=" + damp_text;
  }
  return s;
}

}  // namespace qzo
