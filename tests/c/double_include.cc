// The header compiles as C++ and is safe to include twice.
#include "brain.h"
#include "brain.h"

#include <cstdio>

int main() {
    brain_engine *engine = nullptr;
    brain_error *error = nullptr;
    brain_status s = brain_engine_open(nullptr, nullptr, &engine, &error);
    if (s != BRAIN_STATUS_OK || brain_version_number() != BRAIN_VERSION_NUMBER) return 1;
    brain_engine_free(engine);
    std::printf("C++ include check ok\n");
    return 0;
}
