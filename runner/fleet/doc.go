// Package fleet runs one runbook over many units (such as CSM HA pairs)
// from one process: canaries first, then waves, with a failure budget and
// one journal per unit.
//
// A fleet file (kind Fleet) names the runbook, the params shared by every
// unit, the units with their labels and own params, and the rollout:
//
//	apiVersion: csmplan/v1
//	kind: Fleet
//	name: csm-fleet
//	title: CSM upgrade, Q4
//	runbook: csm-upgrade.yaml      # relative to this file; absent: the built-in CSM upgrade
//	params:                        # shared by every unit; a unit's own win
//	  username: csmadmin
//	  target_version: 6.3.11.0
//	  installer: [/opt/csm/setup.bin, -i, silent]
//	units:
//	  - name: east-test
//	    labels: {site: east, env: test}
//	    params:
//	      primary: csm1.east-test.example:9559
//	      secondary: csm2.east-test.example:9559
//	      password: "@east-test.password"   # a secret: @FILE, never in clear; @@ is a literal @
//	  - name: east-prod
//	    labels: {site: east, env: prod}
//	    params:
//	      primary: csm1.east.example:9559
//	      secondary: csm2.east.example:9559
//	      password: "@/etc/csm/east.password"
//	rollout:
//	  order: [env, site, name]     # sort by these labels (name: the unit's name)
//	  canary:
//	    units: [east-test]         # run first; a failing canary stops the rollout
//	    approve: true              # then ask Options.Approver before the waves
//	  waves:
//	    by: site                   # one wave per site; or size: 10
//	  max_parallel: 5              # units at once within a wave
//	  max_failures: 10%            # a count or a percentage of the units
//
// [Load] reports every problem of the file and of every unit at once, each
// at its FILE:LINE:COL as [plan.Errors] gives them and [plan.Render] draws
// them: the schema's (schema.Fleet), duplicate units, unknown canaries, a
// bad rollout, and each unit's params bound against the runbook exactly as
// for a single run (runner.BindParams). A secret param comes from @FILE or
// from CSMPLAN_PARAM_<NAME> (see [WithEnv]) unless the unit gives it.
//
// [Fleet.Waves] is the rollout plan. [Run] runs it and returns a [Report]
// with a row per unit; each unit's journal, DIR/<unit>.journal, is locked
// while it runs, so that one unit never runs twice at once, and resumes
// it ([Options].Resume).
package fleet
