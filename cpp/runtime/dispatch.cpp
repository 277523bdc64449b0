#include "runtime/dispatch.h"

#include <atomic>
#include <cstdlib>
#include <mutex>
#include <stdexcept>

#include "runtime/cpu_features.h"

namespace fastnn::runtime {

namespace {

std::atomic<int> g_active{-1};
std::mutex g_init_mutex;

bool cpu_supports(Isa isa) {
  const CpuFeatures& f = cpu_features();
  switch (isa) {
    case Isa::generic:
      return true;
    case Isa::avx2:
      return f.avx2 && f.fma;
    case Isa::avx512:
      return f.avx2 && f.fma && f.avx512f;
  }
  return false;
}

std::string join_names(const std::vector<Isa>& isas) {
  std::string out;
  for (Isa isa : isas) {
    if (!out.empty()) out += ", ";
    out += isa_name(isa);
  }
  return out;
}

void check_available(Isa isa) {
  const auto available = available_isas();
  for (Isa a : available)
    if (a == isa) return;
  bool compiled = false;
  for (Isa c : compiled_isas()) compiled = compiled || c == isa;
  throw std::runtime_error(
      std::string("fastnn: ISA level '") + isa_name(isa) + "' " +
      (compiled ? "is not supported by this CPU" : "is not compiled into this build") +
      "; available: " + join_names(available));
}

}  // namespace

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::generic:
      return "generic";
    case Isa::avx2:
      return "avx2";
    case Isa::avx512:
      return "avx512";
  }
  return "unknown";
}

std::vector<Isa> compiled_isas() {
  std::vector<Isa> isas{Isa::generic};
#if defined(FASTNN_HAVE_AVX2)
  isas.push_back(Isa::avx2);
#endif
#if defined(FASTNN_HAVE_AVX512)
  isas.push_back(Isa::avx512);
#endif
  return isas;
}

std::vector<Isa> available_isas() {
  std::vector<Isa> isas;
  for (Isa isa : compiled_isas())
    if (cpu_supports(isa)) isas.push_back(isa);
  return isas;
}

Isa parse_isa(const std::string& name) {
  if (name == "generic") return Isa::generic;
  if (name == "avx2") return Isa::avx2;
  if (name == "avx512") return Isa::avx512;
  throw std::runtime_error("fastnn: unknown ISA level '" + name +
                           "' (FASTNN_ISA); expected one of: generic, avx2, avx512");
}

Isa active_isa() {
  int level = g_active.load(std::memory_order_acquire);
  if (level >= 0) return static_cast<Isa>(level);
  std::lock_guard<std::mutex> lock(g_init_mutex);
  level = g_active.load(std::memory_order_relaxed);
  if (level >= 0) return static_cast<Isa>(level);
  Isa chosen = available_isas().back();
  if (const char* env = std::getenv("FASTNN_ISA"); env != nullptr && *env != '\0') {
    chosen = parse_isa(env);
    check_available(chosen);
  }
  g_active.store(static_cast<int>(chosen), std::memory_order_release);
  return chosen;
}

bool isa_at_least(Isa level) { return static_cast<int>(active_isa()) >= static_cast<int>(level); }

void set_active_isa(const std::string& name) {
  Isa isa = parse_isa(name);
  check_available(isa);
  std::lock_guard<std::mutex> lock(g_init_mutex);
  g_active.store(static_cast<int>(isa), std::memory_order_release);
}

}  // namespace fastnn::runtime
