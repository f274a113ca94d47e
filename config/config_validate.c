/* config_validate.c — checks across components: unique ids, known dependencies, no cycles. */
#include "config_internal.h"

#include "pb_str.h"

#include <stdlib.h>
#include <string.h>

/* Index of the first component with this id, or -1. */
static long find_component(const pb_config *cfg, const char *id)
{
	for (size_t i = 0; i < cfg->ncomponents; i++)
		if (cfg->components[i].id && strcmp(cfg->components[i].id, id) == 0)
			return (long)i;
	return -1;
}

static void check_duplicate_ids(cfg_ctx *c, const pb_config *cfg)
{
	for (size_t i = 0; i < cfg->ncomponents; i++) {
		const char *id = cfg->components[i].id;
		long first;

		if (!id)
			continue;
		first = find_component(cfg, id);
		if (first >= 0 && (size_t)first != i)
			pb_problems_add(c->probs, "components[%zu].id: duplicate id \"%s\" (also components[%ld])",
					i, id, first);
	}
}

static void check_dependencies(cfg_ctx *c, const pb_config *cfg)
{
	for (size_t i = 0; i < cfg->ncomponents; i++) {
		const pb_component *comp = &cfg->components[i];

		for (size_t d = 0; d < comp->ndeps; d++) {
			const char *dep = comp->deps[d];

			if (comp->id && strcmp(dep, comp->id) == 0) {
				pb_problems_add(c->probs, "components[%zu].dependencies[%zu]: depends on itself",
						i, d);
				continue;
			}
			if (find_component(cfg, dep) < 0) {
				pb_problems_add(c->probs,
						"components[%zu].dependencies[%zu]: unknown component \"%s\"",
						i, d, dep);
				continue;
			}
			for (size_t e = 0; e < d; e++) {
				if (strcmp(comp->deps[e], dep) == 0) {
					pb_problems_add(c->probs,
							"components[%zu].dependencies[%zu]: duplicate dependency \"%s\"",
							i, d, dep);
					break;
				}
			}
		}
	}
}

enum { WHITE = 0, GREY, BLACK };

typedef struct dfs {
	cfg_ctx *c;
	const pb_config *cfg;
	unsigned char *colour;
	size_t *stack;      /* component indices on the current path */
	size_t depth;
} dfs;

/* Reports the cycle that closes at component `to` ("a -> b -> a"). */
static void report_cycle(dfs *s, size_t to)
{
	size_t start = 0;
	pb_buf b;

	while (start < s->depth && s->stack[start] != to)
		start++;
	pb_buf_init(&b);
	for (size_t k = start; k < s->depth; k++)
		pb_buf_printf(&b, "%s -> ", s->cfg->components[s->stack[k]].id);
	pb_buf_puts(&b, s->cfg->components[to].id);
	if (b.oom)
		s->c->oom = 1;
	else
		pb_problems_add(s->c->probs, "components[%zu].dependencies: dependency cycle %s", to,
				pb_buf_str(&b));
	pb_buf_deinit(&b);
}

static void visit(dfs *s, size_t i)
{
	const pb_component *comp = &s->cfg->components[i];

	s->colour[i] = GREY;
	s->stack[s->depth++] = i;
	for (size_t d = 0; d < comp->ndeps; d++) {
		long j = find_component(s->cfg, comp->deps[d]);

		if (j < 0 || (size_t)j == i) /* reported by check_dependencies */
			continue;
		if (s->colour[j] == GREY)
			report_cycle(s, (size_t)j);
		else if (s->colour[j] == WHITE)
			visit(s, (size_t)j);
	}
	s->depth--;
	s->colour[i] = BLACK;
}

static void check_cycles(cfg_ctx *c, const pb_config *cfg)
{
	dfs s = { .c = c, .cfg = cfg };

	s.colour = calloc(cfg->ncomponents, 1);
	s.stack = calloc(cfg->ncomponents, sizeof(*s.stack));
	if (!s.colour || !s.stack) {
		c->oom = 1;
		goto out;
	}
	for (size_t i = 0; i < cfg->ncomponents; i++)
		if (cfg->components[i].id && s.colour[i] == WHITE)
			visit(&s, i);
out:
	free(s.colour);
	free(s.stack);
}

void cfg_validate_components(cfg_ctx *c, const pb_config *cfg)
{
	if (!cfg->ncomponents)
		return;
	check_duplicate_ids(c, cfg);
	check_dependencies(c, cfg);
	check_cycles(c, cfg);
}
