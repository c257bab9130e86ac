// Command controlplane is a multi-call binary that provides a real Kubernetes
// control plane for tests and local development, built from pinned modules
// because this project's machines cannot download prebuilt binaries.
//
//	controlplane up [--dir D] [--kcm=true] [--node=off|auto|required --node-bin DIR]
//	                                          etcd + kube-apiserver (+ kube-controller-manager)
//	                                          (+ kube-scheduler, containerd and a kubelet: a node), supervised
//	        [--services]                      (+ kube-proxy: Pods reach Services and the API server, as in a cluster)
//	controlplane kube-apiserver ARGS...       the real kube-apiserver command
//	controlplane kube-controller-manager ...  the real kube-controller-manager command
//	controlplane kube-scheduler ARGS...       the real kube-scheduler command
//	controlplane kubelet ARGS...              the real kubelet command
//	controlplane kube-proxy ARGS...           the real kube-proxy command
//	controlplane node-cleanup                 remove what nodes of crashed runs left on the host
//	controlplane kubectl ARGS...              the real kubectl (also when invoked through a link named kubectl)
//	controlplane etcd ARGS...                 the real etcd server command
//
// Invoked through a link named kube-apiserver, etcd or kubectl, it behaves as that program, so a
// directory of links can stand in for envtest's KUBEBUILDER_ASSETS.
//
// `up` prints one JSON line once the API server is ready, then reads commands
// on stdin (one per line) so a test harness can inject faults:
//
//	stop-apiserver | start-apiserver | compact | stop-kcm | start-kcm | restart-node | import-image PATH
//
// Each command is answered with one JSON line. EOF on stdin, SIGINT or SIGTERM
// stops everything and removes the data directory when `up` created it.
package main

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	_ "time/tzdata"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.etcd.io/etcd/server/v3/etcdmain"
	"k8s.io/component-base/cli"
	"k8s.io/component-base/logs"
	_ "k8s.io/component-base/logs/json/register"
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"
	kubectlcmd "k8s.io/kubectl/pkg/cmd"
	kubectlutil "k8s.io/kubectl/pkg/cmd/util"
	apiserver "k8s.io/kubernetes/cmd/kube-apiserver/app"
	kcm "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	kubeproxy "k8s.io/kubernetes/cmd/kube-proxy/app"
	scheduler "k8s.io/kubernetes/cmd/kube-scheduler/app"
	kubelet "k8s.io/kubernetes/cmd/kubelet/app"

	_ "k8s.io/client-go/plugin/pkg/client/auth"
)

func main() {
	name := filepath.Base(os.Args[0])
	args := os.Args[1:]
	if name != "kubectl" && name != "kube-apiserver" && name != "kube-controller-manager" && name != "etcd" {
		if len(args) == 0 {
			fmt.Fprintln(os.Stderr, "usage: controlplane up|kube-apiserver|kube-controller-manager|kubectl [args...]")
			os.Exit(2)
		}
		name, args = args[0], args[1:]
	}
	switch name {
	case "kube-apiserver":
		cmd := apiserver.NewAPIServerCommand()
		cmd.SetArgs(args)
		os.Exit(cli.Run(cmd))
	case "kube-controller-manager":
		cmd := kcm.NewControllerManagerCommand()
		cmd.SetArgs(args)
		os.Exit(cli.Run(cmd))
	case "kube-scheduler":
		cmd := scheduler.NewSchedulerCommand()
		cmd.SetArgs(args)
		os.Exit(cli.Run(cmd))
	case "kubelet":
		cmd := kubelet.NewKubeletCommand(context.Background())
		cmd.SetArgs(args)
		os.Exit(cli.Run(cmd))
	case "kube-proxy":
		cmd := kubeproxy.NewProxyCommand()
		cmd.SetArgs(args)
		os.Exit(cli.Run(cmd))
	case "node-cleanup":
		if err := nodeCleanup(); err != nil {
			fmt.Fprintln(os.Stderr, "controlplane:", err)
			os.Exit(1)
		}
	case "kubectl":
		os.Args = append([]string{"kubectl"}, args...)
		logs.GlogSetter(kubectlcmd.GetLogVerbosity(os.Args)) // nolint:errcheck
		cmd := kubectlcmd.NewDefaultKubectlCommand()
		cmd.SetArgs(args)
		if err := cli.RunNoErrOutput(cmd); err != nil {
			kubectlutil.CheckErr(err)
		}
	case "etcd":
		etcdmain.Main(append([]string{"etcd"}, args...))
	case "up":
		if err := up(args); err != nil {
			fmt.Fprintln(os.Stderr, "controlplane:", err)
			os.Exit(1)
		}
	default:
		fmt.Fprintf(os.Stderr, "controlplane: unknown command %q\n", name)
		os.Exit(2)
	}
}

type plane struct {
	dir      string
	self     string
	etcd     *embed.Etcd
	etcdURL  string
	port     int
	withKCM  bool
	withNode bool
	// services: Pods reach Services through kube-proxy, and the API server through the kubernetes
	// Service, with ServiceAccount tokens: what an operator installed from deploy/ needs.
	services  bool
	hostIP    string // the address the API server advertises to Pods when services is on
	mu        sync.Mutex
	apiserver *exec.Cmd
	kcm       *exec.Cmd
	scheduler *exec.Cmd
	node      *node
}

// The API server's user towards kubelets.
const kubeletClientUser = "kube-apiserver-kubelet-client"

func up(args []string) error {
	fs := flag.NewFlagSet("up", flag.ContinueOnError)
	dir := fs.String("dir", "", "data directory (default: a new temporary directory, removed on exit)")
	withKCM := fs.Bool("kcm", true, "also run kube-controller-manager (garbage collector, namespace controller)")
	port := fs.Int("port", 0, "API server secure port (default: a free port)")
	nodeMode := fs.String("node", "off", "run a node (kube-scheduler, containerd, kubelet, the Job controllers): off, auto (skip it, saying why, where the machine cannot run containers) or required")
	nodeBin := fs.String("node-bin", "", "directory of containerd, its runc shim, ctr, the CNI plugins and pause (tools/node-runtime/build.sh)")
	services := fs.Bool("services", false, "route Services for the node's Pods (kube-proxy, iptables) and let them reach the API server through the kubernetes Service, as in a cluster; needs --node=required, and one such plane per machine at a time")
	if err := fs.Parse(args); err != nil {
		return err
	}
	removeDir := false
	if *dir == "" {
		d, err := os.MkdirTemp("", "planasonix-controlplane-")
		if err != nil {
			return err
		}
		*dir, removeDir = d, true
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	if *nodeMode != "off" && *nodeMode != "auto" && *nodeMode != "required" {
		return fmt.Errorf("--node must be off, auto or required, not %q", *nodeMode)
	}
	p := &plane{dir: *dir, self: self, withKCM: *withKCM, port: *port, withNode: *nodeMode != "off", services: *services}
	if p.services {
		if *nodeMode != "required" || !p.withKCM {
			return errors.New("--services needs --node=required and --kcm")
		}
		if p.hostIP, err = hostAddress(); err != nil {
			return err
		}
	}
	var nodeErr error
	if p.withNode {
		if nodeErr = canRunContainers(); nodeErr == nil && *nodeBin == "" {
			nodeErr = errors.New("--node-bin is not set")
		}
		if nodeErr != nil {
			if *nodeMode == "required" {
				return fmt.Errorf("cannot run a node: %w", nodeErr)
			}
			p.withNode = false
		}
	}
	defer func() {
		if removeDir {
			os.RemoveAll(p.dir)
		}
	}()
	defer p.shutdown()

	if p.port == 0 {
		if p.port, err = freePort(); err != nil {
			return err
		}
	}
	if err := writePKI(p.dir, p.port, p.hostIP); err != nil {
		return fmt.Errorf("generating certificates: %w", err)
	}
	if err := p.startEtcd(); err != nil {
		return fmt.Errorf("starting etcd: %w", err)
	}
	if err := p.startAPIServer(); err != nil {
		return err
	}
	if p.withKCM {
		if err := p.startKCM(); err != nil {
			return err
		}
	}
	nodeInfo := map[string]any{}
	if p.withNode {
		started := time.Now()
		if err := p.startScheduler(); err != nil {
			return err
		}
		if err := p.bindKubeletClient(); err != nil {
			return err
		}
		n, err := p.startNode(*nodeBin)
		if err != nil {
			if *nodeMode == "required" {
				return fmt.Errorf("starting the node: %w", err)
			}
			nodeErr = err
			// Without a node, the Job controller would report Pods that never run as active: run
			// kube-controller-manager as without a node, so that Jobs plainly stay pending.
			p.withNode = false
			p.stop(&p.scheduler)
			if p.withKCM {
				p.stop(&p.kcm)
				if err := p.startKCM(); err != nil {
					return err
				}
			}
		} else {
			p.node = n
			nodeInfo["name"] = n.name
			nodeInfo["podSubnet"] = podSubnet(n.slot)
			nodeInfo["images"] = map[string]string{"busybox": busyboxRef, "pause": pauseRef}
			nodeInfo["startSeconds"] = time.Since(started).Seconds()
			nodeInfo["services"] = p.services
		}
	}
	if nodeErr != nil {
		nodeInfo["error"] = nodeErr.Error()
	}
	ready, _ := json.Marshal(map[string]any{
		"node":       nodeInfo,
		"ready":      true,
		"kubeconfig": filepath.Join(p.dir, "kubeconfig"),
		"server":     fmt.Sprintf("https://127.0.0.1:%d", p.port),
		"caFile":     filepath.Join(p.dir, "ca.crt"),
		"dir":        p.dir,
		"etcd":       p.etcdURL,
		"pid":        os.Getpid(),
	})
	fmt.Println(string(ready))

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(os.Stdin)
		for sc.Scan() {
			lines <- strings.TrimSpace(sc.Text())
		}
		close(lines)
	}()
	for {
		select {
		case <-sigs:
			return nil
		case line, ok := <-lines:
			if !ok {
				return nil
			}
			if line == "" {
				continue
			}
			err := p.command(line)
			reply := map[string]any{"command": line, "ok": err == nil}
			if err != nil {
				reply["error"] = err.Error()
			}
			out, _ := json.Marshal(reply)
			fmt.Println(string(out))
		}
	}
}

func (p *plane) command(line string) error {
	if archive, ok := strings.CutPrefix(line, "import-image "); ok {
		if p.node == nil {
			return errors.New("no node is running")
		}
		return p.node.importImage(archive)
	}
	switch line {
	case "stop-apiserver":
		p.stop(&p.apiserver)
		return nil
	case "start-apiserver":
		return p.startAPIServer()
	case "stop-kcm":
		p.stop(&p.kcm)
		return nil
	case "start-kcm":
		return p.startKCM()
	case "compact":
		return p.compact()
	case "restart-node":
		if p.node == nil {
			return errors.New("no node is running")
		}
		return p.node.restart()
	}
	return fmt.Errorf("unknown command %q", line)
}

func (p *plane) startEtcd() error {
	clientPort, err := freePort()
	if err != nil {
		return err
	}
	peerPort, err := freePort()
	if err != nil {
		return err
	}
	cfg := embed.NewConfig()
	cfg.Name = "planasonix"
	cfg.Dir = filepath.Join(p.dir, "etcd")
	cfg.Logger = "zap"
	cfg.LogLevel = "error"
	cfg.LogOutputs = []string{filepath.Join(p.dir, "etcd.log")}
	clientURL, _ := url.Parse(fmt.Sprintf("http://127.0.0.1:%d", clientPort))
	peerURL, _ := url.Parse(fmt.Sprintf("http://127.0.0.1:%d", peerPort))
	cfg.ListenClientUrls = []url.URL{*clientURL}
	cfg.AdvertiseClientUrls = []url.URL{*clientURL}
	cfg.ListenPeerUrls = []url.URL{*peerURL}
	cfg.AdvertisePeerUrls = []url.URL{*peerURL}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	// Tests never need durability across a machine crash; fsync dominates etcd latency on small disks.
	cfg.UnsafeNoFsync = true
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return err
	}
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		return err
	case <-time.After(60 * time.Second):
		e.Close()
		return errors.New("etcd did not become ready within 60s")
	}
	p.etcd = e
	p.etcdURL = clientURL.String()
	return nil
}

func (p *plane) compact() error {
	c, err := clientv3.New(clientv3.Config{Endpoints: []string{p.etcdURL}, DialTimeout: 5 * time.Second})
	if err != nil {
		return err
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := c.Get(ctx, "compact-probe")
	if err != nil {
		return err
	}
	_, err = c.Compact(ctx, resp.Header.Revision, clientv3.WithCompactPhysical())
	return err
}

func (p *plane) startAPIServer() error {
	p.mu.Lock()
	running := p.apiserver != nil
	p.mu.Unlock()
	if running {
		return nil
	}
	d := p.dir
	args := []string{
		"--etcd-servers=" + p.etcdURL,
		"--secure-port=" + strconv.Itoa(p.port),
		"--cert-dir=" + d,
		"--tls-cert-file=" + filepath.Join(d, "apiserver.crt"),
		"--tls-private-key-file=" + filepath.Join(d, "apiserver.key"),
		"--client-ca-file=" + filepath.Join(d, "ca.crt"),
		// Node: kubelets may read only what their own Pods need.
		"--authorization-mode=Node,RBAC",
		// Logs and exec go to the kubelet with a client certificate, over a verified connection.
		"--kubelet-client-certificate=" + filepath.Join(d, "apiserver-kubelet-client.crt"),
		"--kubelet-client-key=" + filepath.Join(d, "apiserver-kubelet-client.key"),
		"--kubelet-certificate-authority=" + filepath.Join(d, "ca.crt"),
		// Nodes are named per slot and listen on 127.0.0.1; their names need not resolve.
		"--kubelet-preferred-address-types=InternalIP",
		"--service-account-issuer=https://127.0.0.1:" + strconv.Itoa(p.port),
		"--service-account-key-file=" + filepath.Join(d, "sa.pub"),
		"--service-account-signing-key-file=" + filepath.Join(d, "sa.key"),
		"--service-cluster-ip-range=10.0.0.0/24",
		"--allow-privileged=true",
		// Events are written in bursts by tests; a short TTL keeps etcd small.
		"--event-ttl=10m",
		"--v=0",
	}
	if p.services {
		// Pods reach the API server as in a cluster: the kubernetes Service's endpoint is this
		// host's address (kube-proxy forwards 10.0.0.1:443 to it), and their ServiceAccount tokens
		// are mounted. Listening beyond loopback is what that takes; clients still need certificates.
		args = append(args, "--bind-address=0.0.0.0", "--advertise-address="+p.hostIP, "--endpoint-reconciler-type=lease")
	} else {
		args = append(args, "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", "--endpoint-reconciler-type=none",
			// No ServiceAccount tokens for Pods, and no need for the `default` ServiceAccount in new
			// namespaces before their first Pod, as in envtest.
			"--disable-admission-plugins=ServiceAccount")
	}
	cmd, err := p.spawn("kube-apiserver", args, "apiserver.log")
	if err != nil {
		return err
	}
	p.mu.Lock()
	p.apiserver = cmd
	p.mu.Unlock()
	if err := p.waitReady(90 * time.Second); err != nil {
		return fmt.Errorf("kube-apiserver: %w (see %s)", err, filepath.Join(d, "apiserver.log"))
	}
	return nil
}

func (p *plane) startKCM() error {
	p.mu.Lock()
	running := p.kcm != nil
	p.mu.Unlock()
	if running {
		return nil
	}
	kport, err := freePort()
	if err != nil {
		return err
	}
	kc := filepath.Join(p.dir, "kubeconfig")
	controllers := "garbage-collector-controller,namespace-controller,serviceaccount-controller"
	if p.withNode {
		// Jobs run Pods; finished Jobs and orphaned Pods are collected; the node lifecycle controller
		// lifts the not-ready taint that keeps the scheduler away from a starting node.
		controllers += ",job-controller,ttl-after-finished-controller,pod-garbage-collector-controller,node-lifecycle-controller"
	}
	if p.services {
		// What an installed operator needs: Deployments, the EndpointSlices kube-proxy routes by, and
		// the CA bundle every ServiceAccount token volume mounts.
		controllers += ",deployment-controller,replicaset-controller,endpointslice-controller,root-ca-certificate-publisher-controller"
	}
	args := []string{
		"--kubeconfig=" + kc,
		"--authentication-kubeconfig=" + kc,
		"--authorization-kubeconfig=" + kc,
		"--leader-elect=false",
		"--controllers=" + controllers,
		"--root-ca-file=" + filepath.Join(p.dir, "ca.crt"),
		"--use-service-account-credentials=false",
		"--bind-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(kport),
		"--v=0",
	}
	cmd, err := p.spawn("kube-controller-manager", args, "kcm.log")
	if err != nil {
		return err
	}
	p.mu.Lock()
	p.kcm = cmd
	p.mu.Unlock()
	return nil
}

func (p *plane) spawn(name string, args []string, logName string) (*exec.Cmd, error) {
	return p.spawnIn(name, p.self, args, logName, nil, "")
}

// spawnIn starts program (as `program name args...` when name is set) logging to logName in the
// data directory, with env (nil: ours), and moves it into cgroup (relative, in every hierarchy).
func (p *plane) spawnIn(name, program string, args []string, logName string, env []string, cgroup string) (*exec.Cmd, error) {
	logFile, err := os.OpenFile(filepath.Join(p.dir, logName), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	if name != "" {
		args = append([]string{name}, args...)
	}
	cmd := exec.Command(program, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Env = env
	// Children die with the supervisor, so a killed test run leaves no stray API server.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, err
	}
	if cgroup != "" {
		joinCgroup(cgroup, cmd.Process.Pid)
	}
	go func() { cmd.Wait(); logFile.Close() }()
	return cmd, nil
}

func (p *plane) startScheduler() error {
	port, err := freePort()
	if err != nil {
		return err
	}
	kc := filepath.Join(p.dir, "kubeconfig")
	cmd, err := p.spawn("kube-scheduler", []string{
		"--kubeconfig=" + kc,
		"--authentication-kubeconfig=" + kc,
		"--authorization-kubeconfig=" + kc,
		"--leader-elect=false",
		"--bind-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(port),
		"--v=0",
	}, "scheduler.log")
	if err != nil {
		return err
	}
	p.mu.Lock()
	p.scheduler = cmd
	p.mu.Unlock()
	return nil
}

// bindKubeletClient lets the API server's kubelet client certificate use the kubelet API (logs,
// exec), which the kubelet authorizes through SubjectAccessReviews.
func (p *plane) bindKubeletClient() error {
	manifest := `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: planasonix:kube-apiserver-kubelet-client
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: system:kubelet-api-admin
subjects:
- apiGroup: rbac.authorization.k8s.io
  kind: User
  name: ` + kubeletClientUser + "\n"
	cmd := exec.Command(p.self, "kubectl", "--kubeconfig", filepath.Join(p.dir, "kubeconfig"), "apply", "-f", "-")
	cmd.Stdin = strings.NewReader(manifest)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("binding the kubelet client: %v: %s", err, out)
	}
	return nil
}

// killCmd kills the process and waits until it is gone.
func killCmd(cmd *exec.Cmd) {
	if cmd == nil || cmd.Process == nil {
		return
	}
	cmd.Process.Kill()
	for cmd.Process.Signal(syscall.Signal(0)) == nil {
		time.Sleep(20 * time.Millisecond)
	}
}

func (p *plane) stop(slot **exec.Cmd) {
	p.mu.Lock()
	cmd := *slot
	*slot = nil
	p.mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		return
	}
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		for cmd.ProcessState == nil {
			if err := cmd.Process.Signal(syscall.Signal(0)); err != nil {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		<-done
	}
}

func (p *plane) shutdown() {
	if p.node != nil {
		p.node.teardown()
		p.node = nil
	}
	p.stop(&p.scheduler)
	p.stop(&p.kcm)
	p.stop(&p.apiserver)
	if p.etcd != nil {
		p.etcd.Close()
		p.etcd = nil
	}
}

func (p *plane) waitReady(timeout time.Duration) error {
	cert, err := tls.LoadX509KeyPair(filepath.Join(p.dir, "admin.crt"), filepath.Join(p.dir, "admin.key"))
	if err != nil {
		return err
	}
	caPEM, err := os.ReadFile(filepath.Join(p.dir, "ca.crt"))
	if err != nil {
		return err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	client := &http.Client{
		Timeout:   2 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}}},
	}
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		p.mu.Lock()
		cmd := p.apiserver
		p.mu.Unlock()
		if cmd == nil {
			return errors.New("stopped while starting")
		}
		if cmd.ProcessState != nil {
			return fmt.Errorf("exited: %s", cmd.ProcessState)
		}
		resp, err := client.Get(fmt.Sprintf("https://127.0.0.1:%d/readyz", p.port))
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("not ready within %s", timeout)
}

var (
	portsMu sync.Mutex
	// Every port freePort returned: a port is free again once its probe closes, so the OS may hand
	// it out again before the component it was picked for binds it (the API server's port is picked
	// before etcd's, and bound after).
	handedOut = map[int]bool{}
)

// freePort returns a loopback TCP port that is free and that this process has not handed out yet.
func freePort() (int, error) {
	portsMu.Lock()
	defer portsMu.Unlock()
	for range 100 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if !handedOut[port] {
			handedOut[port] = true
			return port, nil
		}
	}
	return 0, fmt.Errorf("no free port that was not handed out already")
}

// writePKI generates a CA, the API server's serving certificate, an admin
// client certificate (group system:masters), the service-account key pair and
// a kubeconfig that uses them.
func writePKI(dir string, port int, hostIP string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	now := time.Now().Add(-time.Hour)
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "planasonix-controlplane-ca"},
		NotBefore:             now,
		NotAfter:              now.Add(10 * 365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return err
	}
	caCert, _ := x509.ParseCertificate(caDER)
	if err := writePEM(filepath.Join(dir, "ca.crt"), "CERTIFICATE", caDER); err != nil {
		return err
	}
	if err := writeKey(filepath.Join(dir, "ca.key"), caKey); err != nil {
		return err
	}
	issue := func(name string, tmpl *x509.Certificate) error { return issueCert(dir, name, tmpl, caCert, caKey) }
	if err := issue("apiserver", &x509.Certificate{
		Subject:     pkix.Name{CommonName: "kube-apiserver"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:    []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc"},
		IPAddresses: apiserverIPs(hostIP),
	}); err != nil {
		return err
	}
	if err := issue("admin", &x509.Certificate{
		Subject:     pkix.Name{CommonName: "admin", Organization: []string{"system:masters"}},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}); err != nil {
		return err
	}
	// The API server's identity towards kubelets (logs, exec); bound to system:kubelet-api-admin
	// once the API server runs, instead of being a cluster admin.
	if err := issue("apiserver-kubelet-client", &x509.Certificate{
		Subject:     pkix.Name{CommonName: kubeletClientUser},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}); err != nil {
		return err
	}
	saKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	if err := writeKey(filepath.Join(dir, "sa.key"), saKey); err != nil {
		return err
	}
	pubDER, err := x509.MarshalPKIXPublicKey(&saKey.PublicKey)
	if err != nil {
		return err
	}
	if err := writePEM(filepath.Join(dir, "sa.pub"), "PUBLIC KEY", pubDER); err != nil {
		return err
	}
	kubeconfig := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: planasonix-local
  cluster:
    server: https://127.0.0.1:%d
    certificate-authority: %s
users:
- name: admin
  user:
    client-certificate: %s
    client-key: %s
contexts:
- name: planasonix-local
  context:
    cluster: planasonix-local
    user: admin
    namespace: default
current-context: planasonix-local
`, port, filepath.Join(dir, "ca.crt"), filepath.Join(dir, "admin.crt"), filepath.Join(dir, "admin.key"))
	return os.WriteFile(filepath.Join(dir, "kubeconfig"), []byte(kubeconfig), 0o600)
}

// apiserverIPs are the addresses the API server's certificate is valid for: loopback, the
// kubernetes Service's ClusterIP and, when Pods reach it through that Service, the host's address.
func apiserverIPs(hostIP string) []net.IP {
	ips := []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("10.0.0.1")}
	if hostIP != "" {
		ips = append(ips, net.ParseIP(hostIP))
	}
	return ips
}

// hostAddress is the host's first non-loopback IPv4 address, the one the API server advertises to
// Pods: they reach it through their bridge's gateway.
func hostAddress() (string, error) {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return "", err
	}
	// Not a node bridge of another plane: those come and go with their nodes.
	_, bridges, _ := net.ParseCIDR("10.244.0.0/16")
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() && !n.IP.IsLinkLocalUnicast() && !bridges.Contains(n.IP) {
			return n.IP.String(), nil
		}
	}
	return "", errors.New("no non-loopback IPv4 address on this host for the API server to advertise to Pods")
}

// issueCert writes NAME.crt and NAME.key: a new P-256 key and a certificate for it signed by the CA.
func issueCert(dir, name string, tmpl *x509.Certificate, caCert *x509.Certificate, caKey *ecdsa.PrivateKey) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	now := time.Now().Add(-time.Hour)
	tmpl.SerialNumber = serial
	tmpl.NotBefore, tmpl.NotAfter = now, now.Add(10*365*24*time.Hour)
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		return err
	}
	if err := writePEM(filepath.Join(dir, name+".crt"), "CERTIFICATE", der); err != nil {
		return err
	}
	return writeKey(filepath.Join(dir, name+".key"), key)
}

// issueNodeCerts writes the kubelet's client certificate (the Node authorizer's system:node:NAME
// in group system:nodes) and its serving certificate for 127.0.0.1, both signed by the cluster CA.
func issueNodeCerts(dir, nodeName string) error {
	caPEM, err := os.ReadFile(filepath.Join(dir, "ca.crt"))
	if err != nil {
		return err
	}
	keyPEM, err := os.ReadFile(filepath.Join(dir, "ca.key"))
	if err != nil {
		return err
	}
	cb, _ := pem.Decode(caPEM)
	kb, _ := pem.Decode(keyPEM)
	if cb == nil || kb == nil {
		return errors.New("unreadable CA in " + dir)
	}
	caCert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return err
	}
	caKey, err := x509.ParseECPrivateKey(kb.Bytes)
	if err != nil {
		return err
	}
	if err := issueCert(dir, nodeName+"-client", &x509.Certificate{
		Subject:     pkix.Name{CommonName: "system:node:" + nodeName, Organization: []string{"system:nodes"}},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}, caCert, caKey); err != nil {
		return err
	}
	return issueCert(dir, nodeName+"-serving", &x509.Certificate{
		Subject:     pkix.Name{CommonName: nodeName},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:    []string{nodeName, "localhost"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
	}, caCert, caKey)
}

func writeKey(path string, key *ecdsa.PrivateKey) error {
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	return writePEM(path, "EC PRIVATE KEY", der)
}

func writePEM(path, blockType string, der []byte) error {
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: blockType, Bytes: der}), 0o600)
}
