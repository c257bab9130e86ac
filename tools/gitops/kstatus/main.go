// Reads Kubernetes objects as JSON (one per line, or a JSON list's items) on stdin and prints, for
// each, what Flux's health checks conclude from it: kstatus's Compute, the library Flux uses
// (sigs.k8s.io/cli-utils/pkg/kstatus/status), as one JSON line {"status": "...", "message": "..."}.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
)

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 0, 1<<20), 16<<20)
	out := json.NewEncoder(os.Stdout)
	for in.Scan() {
		line := in.Bytes()
		if len(line) == 0 {
			continue
		}
		// The API machinery's own decoding: integers stay int64, as kstatus expects of generations.
		obj := &unstructured.Unstructured{}
		if err := obj.UnmarshalJSON(line); err != nil {
			fmt.Fprintf(os.Stderr, "kstatus: not a Kubernetes object: %v\n", err)
			os.Exit(2)
		}
		res, err := status.Compute(obj)
		if err != nil {
			fmt.Fprintf(os.Stderr, "kstatus: %v\n", err)
			os.Exit(1)
		}
		_ = out.Encode(map[string]string{"status": res.Status.String(), "message": res.Message})
	}
	if err := in.Err(); err != nil {
		fmt.Fprintf(os.Stderr, "kstatus: %v\n", err)
		os.Exit(2)
	}
}
