// Machine facts from /proc (machine.h).
#include "framework/core/machine.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "framework/core/error.h"

namespace qzo {

namespace {

std::string proc_value(const char* file, const std::string& key) {
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(key, 0) == 0) {
      const size_t colon = line.find(':');
      const size_t start = line.find_first_not_of(" \t", colon + 1);
      return start == std::string::npos ? "" : line.substr(start);
    }
  return "";
}

const nlohmann::json& field(const nlohmann::json& m, const char* key, const std::string& origin) {
  if (!m.is_object() || !m.contains(key)) fail(origin + ": machine key '" + key + "' is missing");
  return m[key];
}

}  // namespace

nlohmann::json machine_json(const std::string& accelerator) {
  const std::string mem_kb = proc_value("/proc/meminfo", "MemTotal");
  return {{"cpu", proc_value("/proc/cpuinfo", "model name")},
          {"cores", sysconf(_SC_NPROCESSORS_ONLN)},
          {"memory_bytes", std::stod(mem_kb.empty() ? "0" : mem_kb) * 1024.0},
          {"accelerator", accelerator}};
}

std::string machine_description(const nlohmann::json& m, const std::string& origin) {
  const nlohmann::json &cpu = field(m, "cpu", origin), &cores = field(m, "cores", origin),
                       &memory = field(m, "memory_bytes", origin), &accelerator = field(m, "accelerator", origin);
  if (!cpu.is_string() || !cores.is_number() || !memory.is_number() || !accelerator.is_string())
    fail(origin + ": machine must hold cpu (text), cores and memory_bytes (numbers) and accelerator (text)");
  char gib[32];
  std::snprintf(gib, sizeof gib, "%.1f", memory.get<double>() / double(1ull << 30));
  return cpu.get<std::string>() + ", " + std::to_string(cores.get<long>()) + " cores, " + gib + " GiB, " +
         accelerator.get<std::string>();
}

}  // namespace qzo
