// Command pause is the sandbox ("pause") container of the local node: it holds a Pod's namespaces
// open, reaps orphaned children (it is PID 1 when the Pod shares its process namespace) and exits
// on SIGTERM or SIGINT, so that stopping a sandbox never waits for the kill timeout. It exists
// because no registry can be reached to pull the upstream pause image.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	signals := make(chan os.Signal, 4)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT, syscall.SIGCHLD)
	for s := range signals {
		if s != syscall.SIGCHLD {
			os.Exit(0)
		}
		for {
			var status syscall.WaitStatus
			pid, err := syscall.Wait4(-1, &status, syscall.WNOHANG, nil)
			if pid <= 0 || err != nil {
				break
			}
		}
	}
}
