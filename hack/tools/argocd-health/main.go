// argocd-health runs a custom resource health check from an argocd-cm
// ConfigMap (or a patch of one) the way Argo CD's application controller runs
// it, so that what we ship is tested in the engine that will run it:
//
//   - the script is the argocd-cm key resource.customizations.health.<group>_<kind>;
//   - it runs in gopher-lua (the module Argo CD embeds) with only the base,
//     table and package libraries open, unless the ConfigMap sets
//     resource.customizations.useOpenLibs.<group>_<kind> to "true" (Argo CD
//     opens a safe os library too; a script that needs it fails here, which
//     is the stricter side);
//   - the object is the global `obj`, decoded from its JSON;
//   - the script has one second;
//   - it must return a table whose status is one of Healthy, Progressing,
//     Degraded, Suspended, Missing or Unknown; any other status reads as
//     Unknown, "Lua returned an invalid health status", as in Argo CD.
//
// Usage:
//
//	argocd-health --argocd-cm FILE [OBJECTS.json ...]
//
// Objects are JSON: one object, a List (kubectl get -o json) or several
// documents in a row; standard input when no file is named. For each object
// it prints "namespace/name<TAB>status<TAB>message". It exits 1 when a script
// fails or returns something that is not a health status table, 2 on bad use.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	lua "github.com/yuin/gopher-lua"
	"sigs.k8s.io/yaml"
)

var validStatus = map[string]bool{
	"Healthy": true, "Progressing": true, "Degraded": true,
	"Suspended": true, "Missing": true, "Unknown": true,
}

type health struct {
	Status  string
	Message string
}

// configMapKey is Argo CD's key for a group and kind: "<group>_<kind>", or
// the kind alone for the core group.
func configMapKey(apiVersion, kind string) string {
	group := ""
	if i := strings.Index(apiVersion, "/"); i >= 0 {
		group = apiVersion[:i]
	}
	if group == "" {
		return kind
	}
	return group + "_" + kind
}

func decode(L *lua.LState, v any) lua.LValue {
	switch x := v.(type) {
	case bool:
		return lua.LBool(x)
	case float64:
		return lua.LNumber(x)
	case string:
		return lua.LString(x)
	case []any:
		t := L.CreateTable(len(x), 0)
		for _, item := range x {
			t.Append(decode(L, item))
		}
		return t
	case map[string]any:
		t := L.CreateTable(0, len(x))
		for k, item := range x {
			t.RawSetH(lua.LString(k), decode(L, item))
		}
		return t
	}
	return lua.LNil
}

func run(script string, openLibs bool, obj map[string]any) (health, error) {
	L := lua.NewState(lua.Options{SkipOpenLibs: !openLibs})
	defer L.Close()
	for _, lib := range []struct {
		name string
		open lua.LGFunction
	}{{lua.LoadLibName, lua.OpenPackage}, {lua.BaseLibName, lua.OpenBase}, {lua.TabLibName, lua.OpenTable}} {
		if err := L.CallByParam(lua.P{Fn: L.NewFunction(lib.open), Protect: true}, lua.LString(lib.name)); err != nil {
			return health{}, err
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	L.SetContext(ctx)
	L.SetGlobal("obj", decode(L, obj))
	if err := L.DoString(script); err != nil {
		return health{}, err
	}
	table, ok := L.Get(-1).(*lua.LTable)
	if !ok {
		return health{}, fmt.Errorf("expect table output from Lua script, not %s", L.Get(-1).Type())
	}
	var h health
	for field, dst := range map[string]*string{"status": &h.Status, "message": &h.Message} {
		switch v := table.RawGetString(field).(type) {
		case *lua.LNilType:
		case lua.LString:
			*dst = string(v)
		default:
			return health{}, fmt.Errorf("the returned %s is a %s, not a string", field, v.Type())
		}
	}
	if !validStatus[h.Status] {
		return health{Status: "Unknown", Message: "Lua returned an invalid health status"}, nil
	}
	return h, nil
}

// objects reads JSON documents: objects, Lists of objects, one after another.
func objects(r io.Reader) ([]map[string]any, error) {
	dec := json.NewDecoder(r)
	var out []map[string]any
	for {
		var doc map[string]any
		if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
			return out, nil
		} else if err != nil {
			return nil, err
		}
		if items, ok := doc["items"].([]any); ok && strings.HasSuffix(fmt.Sprint(doc["kind"]), "List") {
			for _, item := range items {
				if o, ok := item.(map[string]any); ok {
					out = append(out, o)
				}
			}
			continue
		}
		out = append(out, doc)
	}
}

func main() {
	cmPath := flag.String("argocd-cm", "", "argocd-cm ConfigMap (or patch) YAML holding the health checks")
	flag.Parse()
	if *cmPath == "" {
		fmt.Fprintln(os.Stderr, "usage: argocd-health --argocd-cm FILE [OBJECTS.json ...]")
		os.Exit(2)
	}
	raw, err := os.ReadFile(*cmPath)
	if err != nil {
		fmt.Fprintln(os.Stderr, "argocd-health:", err)
		os.Exit(2)
	}
	var cm struct {
		Data map[string]string `json:"data"`
	}
	if err := yaml.Unmarshal(raw, &cm); err != nil {
		fmt.Fprintf(os.Stderr, "argocd-health: %s: %v\n", *cmPath, err)
		os.Exit(2)
	}

	var input bytes.Buffer
	if flag.NArg() == 0 {
		_, err = io.Copy(&input, os.Stdin)
	}
	for _, f := range flag.Args() {
		var b []byte
		if b, err = os.ReadFile(f); err != nil {
			break
		}
		input.Write(b)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "argocd-health:", err)
		os.Exit(2)
	}
	objs, err := objects(&input)
	if err != nil {
		fmt.Fprintln(os.Stderr, "argocd-health: reading objects:", err)
		os.Exit(2)
	}

	failed := false
	for _, o := range objs {
		meta, _ := o["metadata"].(map[string]any)
		name := fmt.Sprint(meta["name"])
		if ns, ok := meta["namespace"].(string); ok && ns != "" {
			name = ns + "/" + name
		}
		key := configMapKey(fmt.Sprint(o["apiVersion"]), fmt.Sprint(o["kind"]))
		script, ok := cm.Data["resource.customizations.health."+key]
		if !ok {
			fmt.Fprintf(os.Stderr, "argocd-health: %s: %s has no resource.customizations.health.%s\n", name, *cmPath, key)
			failed = true
			continue
		}
		openLibs := cm.Data["resource.customizations.useOpenLibs."+key] == "true"
		h, err := run(script, openLibs, o)
		if err != nil {
			fmt.Fprintf(os.Stderr, "argocd-health: %s: %v\n", name, err)
			failed = true
			continue
		}
		fmt.Printf("%s\t%s\t%s\n", name, h.Status, strings.ReplaceAll(h.Message, "\n", " "))
	}
	if failed {
		os.Exit(1)
	}
}
