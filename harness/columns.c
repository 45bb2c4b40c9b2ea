/*
 * columns.c: the names of the columns of cells.csv (see columns.h).
 */
#include "columns.h"

#include <string.h>

static const char *const column_names[AM_COL_COUNT] = {
#define AM_COLUMN_NAME(name) #name,
    AM_COLUMNS(AM_COLUMN_NAME)
#undef AM_COLUMN_NAME
};

const char *am_column_name(enum am_column c)
{
    return c < AM_COL_COUNT ? column_names[c] : "?";
}

enum am_column am_column_find(const char *name)
{
    for (int c = 0; c < AM_COL_COUNT; c++)
        if (strcmp(name, column_names[c]) == 0)
            return (enum am_column)c;
    return AM_COL_COUNT;
}
