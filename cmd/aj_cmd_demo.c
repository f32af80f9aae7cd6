/* aj_cmd_demo.c - placeholder until its stage lands. */
