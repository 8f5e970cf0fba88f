// What a measurement ran on, for records that reports turn into tables: the CPU model, the
// online cores, the memory, and the backend ("CPU backend" or the device's name).
#pragma once
#include <string>

#include <nlohmann/json.hpp>

namespace qzo {

nlohmann::json machine_json(const std::string& accelerator = "CPU backend");
// "AMD EPYC ..., 2 cores, 23.4 GiB, CPU backend"; throws naming `origin` and the key.
std::string machine_description(const nlohmann::json& machine, const std::string& origin);

}  // namespace qzo
