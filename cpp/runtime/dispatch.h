// ISA dispatch: which kernel set the library uses.
//
// Each area (gemm, ops, optim) keeps one table of function pointers per ISA
// level, defined in the ISA's own translation unit. Callers ask the area for
// its table (e.g. ops::elementwise_kernels()), which looks at active_isa().
//
// The level is chosen once, at the first call of active_isa(): the best level
// that is both compiled in and supported by the CPU, unless the environment
// variable FASTNN_ISA names a lower one. Asking for a level that is unknown,
// not compiled in, or not supported by this CPU throws std::runtime_error
// (surfaced to Python as RuntimeError at import).
#pragma once

#include <string>
#include <vector>

namespace fastnn::runtime {

// Ordered: a level can run every kernel of the levels below it. Areas with no
// kernels of their own at a level use the highest level below it that they
// have (only the GEMM and the optimizer steps have avx512 kernels; see
// isa_at_least()).
enum class Isa : int { generic = 0, avx2 = 1, avx512 = 2 };

const char* isa_name(Isa isa);

// Whether the level in use is `level` or above (active_isa() >= level).
bool isa_at_least(Isa level);

// Levels compiled into this build, lowest first.
std::vector<Isa> compiled_isas();

// Levels compiled in and supported by this CPU, lowest first.
std::vector<Isa> available_isas();

// The level in use. The first call resolves FASTNN_ISA and may throw.
Isa active_isa();

// Forces a level (tests use it to run every kernel on every path). Throws
// std::runtime_error when the level is not available. Not thread-safe with
// respect to kernels running concurrently.
void set_active_isa(const std::string& name);

// Parses a level name ("generic", "avx2", "avx512"); throws std::runtime_error naming
// the valid choices when the name is unknown.
Isa parse_isa(const std::string& name);

}  // namespace fastnn::runtime
