// Parsing and validation of QuantSpec.
#include "framework/quant/quant_spec.h"

#include <cctype>
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
  fail("quant.method: expected 'rtn' or 'nf4', got '" + name + "'");
}

std::string quant_method_name(QuantMethod method) {
  return method == QuantMethod::Nf4 ? "nf4" : "rtn";
}

QuantSpec QuantSpec::defaults(QuantMethod method) {
  QuantSpec s;
  s.method = method;
  if (method == QuantMethod::Nf4) {
    s.bits = 4;
    s.group_size = 64;
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
        if (spec.method == QuantMethod::Nf4 && !spec.symmetric)
          fail("quantizer spec '" + text + "': symmetric=false applies to rtn only (nf4 is absmax-scaled)");
      } else if (key == "double_quant") {
        spec.double_quant = parse_bool(text, key, value);
        if (spec.method != QuantMethod::Nf4 && spec.double_quant)
          fail("quantizer spec '" + text + "': double_quant=true applies to nf4 only (it quantizes the absmax)");
      } else {
        fail("quantizer spec '" + text + "': unknown key '" + key +
             "' (expected bits, group_size, symmetric, double_quant)");
      }
    }
  }
  spec.validate();
  return spec;
}

void QuantSpec::validate() const {
  if (method == QuantMethod::Rtn) {
    if (bits != 2 && bits != 3 && bits != 4 && bits != 8)
      fail("quant.bits: rtn supports 2, 3, 4 or 8 bits, got " + std::to_string(bits));
  } else if (bits != 4) {
    fail("quant.bits: nf4 is 4-bit, got " + std::to_string(bits));
  }
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

std::string QuantSpec::to_string() const {
  std::string s = quant_method_name(method) + ":bits=" + std::to_string(bits) + ",group_size=" +
                  (group_size == 0 ? std::string("channel") : std::to_string(group_size));
  if (method == QuantMethod::Rtn) s += std::string(",symmetric=") + (symmetric ? "true" : "false");
  // Written only when set, so that plain NF4's string (logged with every run) is unchanged.
  if (double_quant) s += ",double_quant=true";
  return s;
}

}  // namespace qzo
