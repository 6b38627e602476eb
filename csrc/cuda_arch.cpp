#include "csrc/cuda_arch.h"

#include <cctype>
#include <sstream>

namespace pydl::cuda {

namespace {

struct Arch {
  int cc = 0;  // 10 * major + minor
  bool specific = false, real = true, ptx = true;
};

bool parse(const std::string& entry, Arch& a) {
  size_t i = 0;
  while (i < entry.size() && std::isdigit(static_cast<unsigned char>(entry[i]))) a.cc = a.cc * 10 + (entry[i++] - '0');
  if (i == 0 || i > 4) return false;
  if (i < entry.size() && (entry[i] == 'a' || entry[i] == 'f')) a.specific = entry[i++] == 'a';
  const std::string rest = entry.substr(i);
  if (rest == "-real") a.ptx = false;
  else if (rest == "-virtual") a.real = false;
  else if (!rest.empty()) return false;
  return true;
}

}  // namespace

bool archs_run_on(const std::string& archs, int major, int minor) {
  std::string list = archs;
  for (char& c : list)
    if (c == ',' || c == ';') c = ' ';
  std::istringstream in(list);
  const int cc = major * 10 + minor;
  bool any = false;
  for (std::string entry; in >> entry;) {
    Arch a;
    if (!parse(entry, a)) return true;  // "all", "all-major", "native": CMake chose for the machine
    any = true;
    if (a.real && (a.specific ? cc == a.cc : cc / 10 == a.cc / 10 && cc >= a.cc)) return true;
    if (a.ptx && !a.specific && cc >= a.cc) return true;
  }
  return !any;
}

}  // namespace pydl::cuda
