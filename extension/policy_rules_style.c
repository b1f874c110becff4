/*-------------------------------------------------------------------------
 *
 * policy_rules_style.c
 *	  Policy rules: style (see policy.h for the contract, docs/policies.md
 *	  for each rule's reason and safe alternative).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "policy.h"

const PolicyRuleImpl policy_rules_style[] = {
	{NULL, NULL}
};
