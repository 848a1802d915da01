package app

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"

	"github.com/ade-dev/ade-worker/gen/db"
)

// envKey is an environment key: runs of one key share its environment.
type envKey struct{ workspace, configuration, engine, deps string }

func keyOf(cr *claimedRun) envKey {
	return envKey{cr.WorkspaceID, cr.ConfigurationID, cr.EngineSpec, cr.DepsDigest}
}

// useEnvironments marks the environment of every key among runs used, once
// per key, in key order: two claims whose runs came in opposite orders
// would otherwise lock E1 then E2 and E2 then E1, and deadlock. A key
// whose environment is not ready (any more) is errClaimAgain.
func useEnvironments(ctx context.Context, q *db.Queries, runs []*claimedRun) (map[envKey]db.UseEnvironmentRow, error) {
	var keys []envKey
	for _, cr := range runs {
		if k := keyOf(cr); !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(a, b envKey) int {
		return cmp.Or(strings.Compare(a.workspace, b.workspace), strings.Compare(a.configuration, b.configuration),
			strings.Compare(a.engine, b.engine), strings.Compare(a.deps, b.deps))
	})
	envs := make(map[envKey]db.UseEnvironmentRow, len(keys))
	for _, k := range keys {
		useEnv, err := q.UseEnvironment(ctx, db.UseEnvironmentParams{Now: nowParam, WorkspaceID: k.workspace,
			ConfigurationID: k.configuration, EngineSpec: k.engine, DepsDigest: k.deps})
		if errors.Is(err, sql.ErrNoRows) {
			return nil, errClaimAgain
		}
		if err != nil {
			return nil, err
		}
		envs[k] = useEnv
	}
	return envs, nil
}
