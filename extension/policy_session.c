/*-------------------------------------------------------------------------
 *
 * policy_session.c
 *	  What the policy engine keeps per backend: the module's _PG_init (the
 *	  pgchange.break_glass setting, a ProcessUtility hook, transaction
 *	  callbacks), the text of the utility statement running, who is admin.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "miscadmin.h"
#include "tcop/tcopprot.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/guc.h"

#include "policy.h"

/* deploy.c sets it while run_changeset() runs a changeset */
PolicyRunningChangeset *policy_running_changeset = NULL;

/* SET pgchange.break_glass = 'reason' (honoured for pgchange_admin only) */
char	   *policy_break_glass = NULL;

/* ------------------------------------------------------------------ */
/* The text of the running utility statement                           */
/* ------------------------------------------------------------------ */

/*
 * Event triggers get a parse tree but no text; ProcessUtility gets both.
 * The hook keeps a stack of the utility statements running, so a trigger
 * finds the query string and the statement's place in it.  The hook only
 * exists once the library is loaded: the statement that loads it (the
 * first DDL of a session, unless a pgchange function ran before) falls
 * back to the whole query string.
 */
typedef struct UtilityFrame
{
	Node	   *stmt;
	const char *query;
	int			location;
	int			len;
} UtilityFrame;

#define MAX_FRAMES 64
static UtilityFrame frames[MAX_FRAMES];
static int	nframes = 0;
static ProcessUtility_hook_type prev_ProcessUtility = NULL;

static void
policy_ProcessUtility(PlannedStmt *pstmt, const char *queryString,
#if PG_VERSION_NUM >= 140000
					  bool readOnlyTree,
#endif
					  ProcessUtilityContext context, ParamListInfo params,
					  QueryEnvironment *queryEnv, DestReceiver *dest,
					  QueryCompletion *qc)
{
	int			depth = nframes;

	if (depth < MAX_FRAMES)
	{
		frames[depth].stmt = pstmt->utilityStmt;
		frames[depth].query = queryString;
		frames[depth].location = pstmt->stmt_location;
		frames[depth].len = pstmt->stmt_len;
	}
	nframes = depth + 1;
	PG_TRY();
	{
#if PG_VERSION_NUM >= 140000
		if (prev_ProcessUtility)
			prev_ProcessUtility(pstmt, queryString, readOnlyTree, context, params,
								queryEnv, dest, qc);
		else
			standard_ProcessUtility(pstmt, queryString, readOnlyTree, context, params,
									queryEnv, dest, qc);
#else
		if (prev_ProcessUtility)
			prev_ProcessUtility(pstmt, queryString, context, params, queryEnv, dest, qc);
		else
			standard_ProcessUtility(pstmt, queryString, context, params, queryEnv, dest, qc);
#endif
	}
	PG_FINALLY();
	{
		nframes = depth;
	}
	PG_END_TRY();
}

/*
 * The query string the statement came from and its place in it (as lint()
 * has them); a read-only tree was copied, so compare contents too.
 */
void
policy_statement_source(Node *parsetree, const char **query, int *location, int *len)
{
	int			top = Min(nframes, MAX_FRAMES) - 1;

	if (top >= 0 && frames[top].stmt &&
		(frames[top].stmt == parsetree ||
		 (nodeTag(frames[top].stmt) == nodeTag(parsetree) && equal(frames[top].stmt, parsetree))))
	{
		*query = frames[top].query;
		*location = Max(frames[top].location, 0);
		*len = frames[top].len;
	}
	else
	{
		*query = debug_query_string;
		*location = 0;
		*len = 0;
	}
}

/* ------------------------------------------------------------------ */
/* Transaction ends                                                    */
/* ------------------------------------------------------------------ */

static void
policy_xact_callback(XactEvent event, void *arg)
{
	policy_trigger_forget(InvalidSubTransactionId);
}

static void
policy_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
						SubTransactionId parentSubid, void *arg)
{
	if (event != SUBXACT_EVENT_ABORT_SUB)
		return;
	/* statements of the aborted subtransaction (and its children) end here */
	policy_trigger_forget(mySubid);
}

void		_PG_init(void);

void
_PG_init(void)
{
	DefineCustomStringVariable("pgchange.break_glass",
							   "Reason for breaking glass: policies and guard mode do not block, everything is recorded with it.",
							   "Honoured for members of pgchange_admin and superusers only.",
							   &policy_break_glass,
							   "",
							   PGC_USERSET,
							   0,
							   NULL, NULL, NULL);
	prev_ProcessUtility = ProcessUtility_hook;
	ProcessUtility_hook = policy_ProcessUtility;
	RegisterXactCallback(policy_xact_callback, NULL);
	RegisterSubXactCallback(policy_subxact_callback, NULL);
}

/* ------------------------------------------------------------------ */
/* Roles                                                               */
/* ------------------------------------------------------------------ */

/* a member of pgchange_admin, or a superuser (as pgchange._is_admin()) */
bool
policy_session_is_admin(void)
{
	Oid			session = GetSessionUserId();
	Oid			admin = get_role_oid("pgchange_admin", true);

	return superuser_arg(session) || (OidIsValid(admin) && is_member_of_role(session, admin));
}
