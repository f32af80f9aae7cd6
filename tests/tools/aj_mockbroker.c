/* aj_mockbroker.c - placeholder until the mock broker tool lands. */
int main(void) { return 0; }
