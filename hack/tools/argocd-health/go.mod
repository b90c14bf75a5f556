// The DiagnosticRun health check run the way Argo CD runs custom health
// checks: in gopher-lua, the Lua engine Argo CD embeds (see main.go).
module opscopilot.io/hack/tools/argocd-health

go 1.26.0

require (
	github.com/yuin/gopher-lua v1.1.2
	sigs.k8s.io/yaml v1.6.0
)

require go.yaml.in/yaml/v2 v2.4.2 // indirect
