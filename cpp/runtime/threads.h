// Thread count used by fastnn's OpenMP regions.
//
// Default: what OpenMP would use (omp_get_max_threads(), which honours
// OMP_NUM_THREADS). set_num_threads changes it for fastnn only: every parallel
// region in the library passes num_threads(runtime::num_threads()).
#pragma once

namespace fastnn::runtime {

int num_threads();
// n >= 1; throws std::invalid_argument otherwise.
void set_num_threads(int n);
bool openmp_enabled();

}  // namespace fastnn::runtime
