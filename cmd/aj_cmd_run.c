/* aj_cmd_run.c - placeholder until its stage lands. */
