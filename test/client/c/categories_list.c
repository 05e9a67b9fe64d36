/*
 * categories_list: print the client's failure categories and run phases
 * (client/common/categories.h), one per line, for 93_categories.sh to hold
 * against the results schema.
 */
#include <stdio.h>

#include "common/categories.h"

int
main(void)
{
	for (int c = 0; c < CAT_COUNT; c++)
		printf("category %s\n", category_name((failure_category) c));
	for (int p = 0; p < T_COUNT; p++)
		printf("phase %s\n", phase_name(p));
	return 0;
}
