// The jetpinn command line as a function: main() of the jetpinn binary, and of any program that registers
// its own problems first (register_problem) and then hands over to the driver.
#pragma once

namespace jetpinn {
int driver_main(int argc, char** argv);
}
