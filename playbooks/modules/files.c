/*
 * modules/files.c - copy, template, file, stat, lineinfile, blockinfile, replace, slurp,
 * fetch.
 */
#include "config.h"

#include "playbooks/playbooks.h"

const struct module modules_files[] = {
    {"__none", NULL, NULL, 0},
};
const size_t modules_files_n = 0;
