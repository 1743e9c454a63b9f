/*
 * lazy_yaml.c - the libyaml functions berth calls (configuration files,
 * .hadolint.yaml), loading it at first use (util/lazy.h).
 */
#include "util/lazy.h"

#include <yaml.h>

berth_lazy_lib berth_lazy_yaml = BERTH_LAZY_LIB(BERTH_SONAME_YAML, "libyaml-0-2");

BERTH_LAZY_VOID(berth_lazy_yaml, yaml_document_delete, (yaml_document_t * a0), (a0))
BERTH_LAZY_FN(berth_lazy_yaml, yaml_node_t *, yaml_document_get_node,
	      (yaml_document_t * a0, int a1), (a0, a1))
BERTH_LAZY_FN(berth_lazy_yaml, yaml_node_t *, yaml_document_get_root_node, (yaml_document_t * a0),
	      (a0))
BERTH_LAZY_VOID(berth_lazy_yaml, yaml_parser_delete, (yaml_parser_t * a0), (a0))
BERTH_LAZY_FN(berth_lazy_yaml, int, yaml_parser_initialize, (yaml_parser_t * a0), (a0))
BERTH_LAZY_FN(berth_lazy_yaml, int, yaml_parser_load, (yaml_parser_t * a0, yaml_document_t *a1),
	      (a0, a1))
BERTH_LAZY_VOID(berth_lazy_yaml, yaml_parser_set_input_string,
		(yaml_parser_t * a0, const unsigned char *a1, size_t a2), (a0, a1, a2))
