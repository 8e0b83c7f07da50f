#include "tests/unit/unit.h"
int main(void){ UNIT_SKIP_ALL("todo"); }
