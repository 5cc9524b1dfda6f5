#include <stdio.h>

int main(void) {
  puts("Hello, Gantry!");
  return 0;
}
