// ensemble-classify: classify chest X-rays with the gated ensemble.
#include <iostream>

int main(int argc, char** argv) {
  std::cout << "ensemble-classify: not yet\n";
  return 0;
}
