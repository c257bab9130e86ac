// Runs an Argo CD resource health script (resource.customizations.health.<group_kind>) on objects,
// the way Argo CD does: gopher-lua, the interpreter Argo CD embeds, with the object as the global
// `obj` and the script's returned table read as {status, message}. Usage: argocd-health SCRIPT.lua,
// objects as JSON lines on stdin, one {"status": "...", "message": "..."} line out per object.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"

	lua "github.com/yuin/gopher-lua"
)

// Argo CD opens only these libraries for health scripts (util/lua: OpenLibs with a safe set).
var libs = []struct {
	name string
	fn   lua.LGFunction
}{
	{lua.LoadLibName, lua.OpenPackage},
	{lua.BaseLibName, lua.OpenBase},
	{lua.TabLibName, lua.OpenTable},
	{lua.StringLibName, lua.OpenString},
	{lua.MathLibName, lua.OpenMath},
}

func toLua(l *lua.LState, v interface{}) lua.LValue {
	switch x := v.(type) {
	case nil:
		return lua.LNil
	case bool:
		return lua.LBool(x)
	case float64:
		return lua.LNumber(x)
	case string:
		return lua.LString(x)
	case []interface{}:
		t := l.NewTable()
		for _, e := range x {
			t.Append(toLua(l, e))
		}
		return t
	case map[string]interface{}:
		t := l.NewTable()
		for k, e := range x {
			t.RawSetString(k, toLua(l, e))
		}
		return t
	}
	panic(fmt.Sprintf("unexpected JSON value %T", v))
}

func run(script string, obj map[string]interface{}) (map[string]string, error) {
	l := lua.NewState(lua.Options{SkipOpenLibs: true})
	defer l.Close()
	for _, lib := range libs {
		l.Push(l.NewFunction(lib.fn))
		l.Push(lua.LString(lib.name))
		l.Call(1, 0)
	}
	l.SetGlobal("obj", toLua(l, obj))
	if err := l.DoString(script); err != nil {
		return nil, err
	}
	ret, ok := l.Get(-1).(*lua.LTable)
	if !ok {
		return nil, fmt.Errorf("the script returned %s, not a table", l.Get(-1).Type())
	}
	out := map[string]string{}
	for _, k := range []string{"status", "message"} {
		if s, ok := ret.RawGetString(k).(lua.LString); ok {
			out[k] = string(s)
		}
	}
	return out, nil
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: argocd-health SCRIPT.lua < objects.jsonl")
		os.Exit(2)
	}
	script, err := os.ReadFile(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 0, 1<<20), 16<<20)
	out := json.NewEncoder(os.Stdout)
	for in.Scan() {
		if len(in.Bytes()) == 0 {
			continue
		}
		var obj map[string]interface{}
		if err := json.Unmarshal(in.Bytes(), &obj); err != nil {
			fmt.Fprintf(os.Stderr, "argocd-health: not a JSON object: %v\n", err)
			os.Exit(2)
		}
		res, err := run(string(script), obj)
		if err != nil {
			fmt.Fprintf(os.Stderr, "argocd-health: %v\n", err)
			os.Exit(1)
		}
		_ = out.Encode(res)
	}
}
