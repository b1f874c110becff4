/*-------------------------------------------------------------------------
 *
 * policy_rules_locking.c
 *	  Policy rules: locking (see policy.h for the contract, docs/policies.md
 *	  for each rule's reason and safe alternative).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "policy.h"

const PolicyRuleImpl policy_rules_locking[] = {
	{NULL, NULL}
};
