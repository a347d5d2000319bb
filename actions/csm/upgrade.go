package csm

import _ "embed"

// UpgradeRunbook is the YAML of the CSM HA upgrade runbook, the default
// runbook of csmplan: both modes of IBM's procedure "Upgrading on
// distributed systems" (maintain_dr true: all 11 steps, keeping a server
// active and managing sessions throughout; false: steps 4-7 on a server
// without standby), with a configuration backup before any installer runs.
//
//go:embed upgrade.yaml
var UpgradeRunbook []byte
