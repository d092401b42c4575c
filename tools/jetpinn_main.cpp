// The jetpinn binary.
#include "driver.h"

int main(int argc, char** argv) { return jetpinn::driver_main(argc, argv); }
