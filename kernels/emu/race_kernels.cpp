// elbo4j CPU emulator, race build (scripts/build-emu.sh --race): the kernels and their registry as a
// translation unit of their own, the only one compiled with -fsanitize=thread, so that every load
// and store a kernel makes calls the race checker (race.cpp) and the runtime's own do not.
#include "emu_runtime.h"

#include "emu_kernels.inc"

extern const emu::Entry elbo4j_emu_entries[] = {
#include "emu_registry.inc"
};
extern const int elbo4j_emu_entry_count = sizeof elbo4j_emu_entries / sizeof elbo4j_emu_entries[0];
