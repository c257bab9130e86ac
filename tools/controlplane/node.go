package main

// A real node for the local control plane: containerd (with the runc shim and a bridge CNI) and a
// kubelet that registers with the API server, so Jobs run real Pods. See shared research node.md
// for why each setting is here (cgroup v1, restricted OOM score adjustment, files written outside
// the configured directories).
//
// Several nodes can run on one machine at once (`make dev` next to `make test`, or several test
// runs): each takes a free slot, held by an flock for as long as it runs, and everything it owns on
// the host is named after that slot: its directories, cgroups, bridge, CNI network, pod subnet and
// node name. A slot whose lock is free but whose leftovers exist belonged to a run that crashed;
// the next node to start cleans it.

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const (
	maxSlots      = 16
	slotLockDir   = "/run/planasonix"
	busyboxRef    = "planasonix.local/busybox:1"
	pauseRef      = "planasonix.local/pause:1"
	ctrNamespace  = "k8s.io"
	nodeReadyWait = 120 * time.Second

	sharedKubeletDir    = "/var/lib/kubelet/device-plugins"
	sharedKubeletMarker = slotLockDir + "/device-plugins-created-by-planasonix"

	// kube-proxy's iptables chains are the host's, not a slot's: one node at a time may run it.
	kubeProxyLock     = slotLockDir + "/kube-proxy.lock"
	kubeProxyLockWait = 5 * time.Minute
)

type node struct {
	plane   *plane
	slot    int
	lock    *os.File
	bin     string // containerd, containerd-shim-runc-v2, ctr, CNI plugins, pause
	name    string
	root    string // persistent state: containerd root, kubelet root, pod logs, CNI IPAM
	state   string // runtime state: sockets, containerd state, network namespaces
	port    int    // kubelet's HTTPS port
	kubelet *cmdSlot
	runtime *cmdSlot
	proxy   *cmdSlot // kube-proxy, when the plane routes Services
	proxyMu *os.File // kubeProxyLock, held while proxy runs
}

type cmdSlot struct{ cmd *exec.Cmd }

func slotPaths(slot int) (name, root, state, cgroup, bridge, network string) {
	s := strconv.Itoa(slot)
	return "planasonix-node-" + s, "/var/lib/planasonix/node-" + s, slotLockDir + "/node-" + s,
		"planasonix-node-" + s, "planasonix" + s, "planasonix-node-" + s
}

// canRunContainers says why this machine cannot run the node, or nil when it can.
func canRunContainers() error {
	if os.Geteuid() != 0 {
		return errors.New("not root (the kubelet and containerd need root)")
	}
	fs, err := os.ReadFile("/proc/filesystems")
	if err != nil || !strings.Contains(string(fs), "\toverlay\n") {
		return errors.New("no overlayfs in /proc/filesystems")
	}
	if _, err := exec.LookPath("runc"); err != nil {
		return errors.New("no runc on PATH (Debian package runc; `make node-tools` installs it)")
	}
	if len(cgroupMounts()) == 0 {
		return errors.New("no cgroup filesystem mounted")
	}
	return nil
}

// startNode takes a free slot, cleans what crashed runs left, starts containerd and the kubelet
// and waits until the Node is Ready and schedulable.
func (p *plane) startNode(bin string) (*node, error) {
	if err := canRunContainers(); err != nil {
		return nil, err
	}
	for _, tool := range []string{"containerd", "containerd-shim-runc-v2", "ctr", "bridge", "host-local", "loopback", "portmap", "pause"} {
		if _, err := os.Stat(filepath.Join(bin, tool)); err != nil {
			return nil, fmt.Errorf("node runtime incomplete: %w (tools/node-runtime/build.sh builds it)", err)
		}
	}
	cleanAbandonedSlots()
	// Every kubelet writes /var/lib/kubelet/device-plugins whatever its root dir. Remember whether
	// it was there before any of our nodes, so that the last one removes it only then.
	if _, err := os.Stat(sharedKubeletDir); os.IsNotExist(err) {
		os.MkdirAll(slotLockDir, 0o755)
		os.WriteFile(sharedKubeletMarker, nil, 0o644)
	}
	n := &node{plane: p, bin: bin, kubelet: &cmdSlot{}, runtime: &cmdSlot{}, proxy: &cmdSlot{}}
	if err := n.takeSlot(); err != nil {
		return nil, err
	}
	var err error
	if n.port, err = freePort(); err != nil {
		n.teardown()
		return nil, err
	}
	if err := n.prepare(); err != nil {
		n.teardown()
		return nil, err
	}
	if err := n.start(); err != nil {
		n.teardown()
		return nil, err
	}
	if p.services {
		if err := n.startProxy(); err != nil {
			n.teardown()
			return nil, err
		}
	}
	return n, nil
}

func (n *node) takeSlot() error {
	if err := os.MkdirAll(slotLockDir, 0o755); err != nil {
		return err
	}
	for i := 0; i < maxSlots; i++ {
		f, ok := tryLock(i, true)
		if !ok {
			continue
		}
		n.slot, n.lock = i, f
		n.name, n.root, n.state, _, _, _ = slotPaths(i)
		cleanSlot(i) // a crashed run's leftovers, if any
		return nil
	}
	return fmt.Errorf("all %d node slots are in use", maxSlots)
}

// tryLock takes the slot's lock if nobody holds it. Without create, a slot that never had a lock
// file counts as free but is not taken (nil, true).
func tryLock(slot int, create bool) (*os.File, bool) {
	path := filepath.Join(slotLockDir, fmt.Sprintf("node-%d.lock", slot))
	if create {
		return tryLockFile(path)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0o644)
	if err != nil {
		return nil, os.IsNotExist(err)
	}
	return flock(f)
}

// tryLockFile takes an flock on path (created if missing) if nobody holds it.
func tryLockFile(path string) (*os.File, bool) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, false
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, false
	}
	return flock(f)
}

// flock takes f's exclusive lock without waiting; when another process holds it, it closes f.
func flock(f *os.File) (*os.File, bool) {
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, false
	}
	return f, true
}

// cleanAbandonedSlots removes what nodes of crashed runs left behind: a slot with leftovers whose
// lock nobody holds.
func cleanAbandonedSlots() {
	for i := 0; i < maxSlots; i++ {
		if !slotHasLeftovers(i) {
			continue
		}
		if f, ok := tryLock(i, true); ok {
			cleanSlot(i)
			f.Close()
		}
	}
}

func slotHasLeftovers(slot int) bool {
	_, root, state, cg, bridge, _ := slotPaths(slot)
	for _, p := range []string{root, state, "/sys/class/net/" + bridge} {
		if _, err := os.Lstat(p); err == nil {
			return true
		}
	}
	for _, m := range cgroupMounts() {
		if _, err := os.Stat(filepath.Join(m, cg)); err == nil {
			return true
		}
	}
	return false
}

// nodeCleanup is `controlplane node-cleanup`: tidy the host after crashed runs.
func nodeCleanup() error {
	cleanAbandonedSlots()
	removeSharedKubeletDirs()
	if f, ok := tryLockFile(kubeProxyLock); ok {
		self, err := os.Executable()
		if err == nil {
			removeProxyRules(self)
		}
		f.Close()
	}
	return nil
}

func (n *node) prepare() error {
	_, _, _, cg, bridge, network := slotPaths(n.slot)
	for _, d := range []string{n.root, n.state, filepath.Join(n.root, "cni", "net.d"), filepath.Join(n.root, "images"), filepath.Join(n.root, "kubelet"), filepath.Join(n.root, "pod-logs")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	// The kubelet requires its cgroup root to exist in every hierarchy; containerd and the kubelet
	// themselves go into a sibling, so that killing both trees stops every process the node started
	// (shims included), even after a crash.
	for _, sub := range []string{"pods", "runtime"} {
		if err := makeCgroup(filepath.Join(cg, sub)); err != nil {
			return err
		}
	}
	d := n.plane.dir
	if err := issueNodeCerts(d, n.name); err != nil {
		return err
	}
	subnet := podSubnet(n.slot)
	// Pods reach the host (and through kube-proxy's rules, Services and the API server) only when
	// the plane routes Services: then the bridge is their gateway, and the host reaches them.
	conflist := fmt.Sprintf(`{
  "cniVersion": "1.0.0",
  "name": %q,
  "plugins": [
    {"type": "bridge", "bridge": %q, "isGateway": %t, "isDefaultGateway": %t, "ipMasq": false, "hairpinMode": true,
     "ipam": {"type": "host-local", "ranges": [[{"subnet": %q}]], "dataDir": %q}},
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
`, network, bridge, n.plane.services, n.plane.services, subnet, filepath.Join(n.root, "cni", "ipam"))
	if err := os.WriteFile(filepath.Join(n.root, "cni", "net.d", "10-planasonix.conflist"), []byte(conflist), 0o644); err != nil {
		return err
	}
	containerdConfig := fmt.Sprintf(`version = 3
root = %q
state = %q
# Plugins that would write outside root and state (/opt/containerd, the NRI socket) or that this
# node never uses.
disabled_plugins = ["io.containerd.internal.v1.opt", "io.containerd.nri.v1.nri", "io.containerd.image-verifier.v1.bindir", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.blockfile"]
# No drop-in configuration from /etc/containerd: this node is configured here only.
imports = []

[grpc]
  address = %q

[ttrpc]
  address = %q

[plugins]
  [plugins.'io.containerd.cri.v1.images']
    snapshotter = 'overlayfs'
    [plugins.'io.containerd.cri.v1.images'.pinned_images]
      sandbox = %q

  [plugins.'io.containerd.cri.v1.runtime']
    # This VM's bounding set lacks CAP_SYS_RESOURCE: without this every sandbox fails in runc.
    restrict_oom_score_adj = true
    # Network namespaces under the state directory rather than /var/run/netns.
    netns_mounts_under_state_dir = true
    [plugins.'io.containerd.cri.v1.runtime'.containerd]
      default_runtime_name = 'runc'
      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
        runtime_type = 'io.containerd.runc.v2'
        [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
          SystemdCgroup = false
          # runc's state, which would otherwise go to /run/containerd/runc.
          Root = %q
    [plugins.'io.containerd.cri.v1.runtime'.cni]
      bin_dirs = [%q]
      conf_dir = %q

  [plugins.'io.containerd.grpc.v1.cri']
    # exec/attach/port-forward streams: loopback, and a free port, so two nodes never collide.
    stream_server_address = '127.0.0.1'
    stream_server_port = '0'
`, filepath.Join(n.root, "containerd"), filepath.Join(n.state, "containerd"),
		n.socket(), n.socket()+".ttrpc", pauseRef, filepath.Join(n.state, "runc"), n.bin, filepath.Join(n.root, "cni", "net.d"))
	if err := os.WriteFile(filepath.Join(n.root, "containerd.toml"), []byte(containerdConfig), 0o644); err != nil {
		return err
	}
	kubeletConfig := fmt.Sprintf(`apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# cgroup v1 is all these machines have; 1.35 refuses it unless told.
failCgroupV1: false
cgroupDriver: cgroupfs
cgroupRoot: /%s/pods
failSwapOn: false
containerRuntimeEndpoint: unix://%s
address: 127.0.0.1
port: %d
readOnlyPort: 0
healthzPort: 0
tlsCertFile: %s
tlsPrivateKeyFile: %s
authentication:
  anonymous:
    enabled: false
  webhook:
    enabled: true
    cacheTTL: 30s
  x509:
    clientCAFile: %s
authorization:
  mode: Webhook
makeIPTablesUtilChains: false
podLogsDir: %s
volumePluginDir: %s
# The node's images cannot be pulled again: never collect them.
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard:
  memory.available: 100Mi
  nodefs.available: 1%%
  nodefs.inodesFree: 1%%
  imagefs.available: 1%%
serializeImagePulls: false
resolvConf: ""
`, cg, n.socket(), n.port, filepath.Join(d, n.name+"-serving.crt"), filepath.Join(d, n.name+"-serving.key"),
		filepath.Join(d, "ca.crt"), filepath.Join(n.root, "pod-logs"), filepath.Join(n.root, "volume-plugins"))
	if err := os.WriteFile(filepath.Join(n.root, "kubelet.yaml"), []byte(kubeletConfig), 0o644); err != nil {
		return err
	}
	kubeconfig := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: local
  cluster:
    server: https://127.0.0.1:%d
    certificate-authority: %s
users:
- name: node
  user:
    client-certificate: %s
    client-key: %s
contexts:
- name: node
  context: {cluster: local, user: node}
current-context: node
`, n.plane.port, filepath.Join(d, "ca.crt"), filepath.Join(d, n.name+"-client.crt"), filepath.Join(d, n.name+"-client.key"))
	if err := os.WriteFile(filepath.Join(n.root, "kubelet.kubeconfig"), []byte(kubeconfig), 0o600); err != nil {
		return err
	}
	busyboxPath, err := exec.LookPath("busybox")
	if err != nil {
		return errors.New("no busybox on PATH (Debian package busybox-static; `make node-tools` installs it)")
	}
	bb, err := busyboxImage(busyboxRef, busyboxPath)
	if err != nil {
		return err
	}
	if err := writeOCIArchive(bb, filepath.Join(n.root, "images", "busybox.tar")); err != nil {
		return err
	}
	pause, err := pauseImage(pauseRef, filepath.Join(n.bin, "pause"))
	if err != nil {
		return err
	}
	return writeOCIArchive(pause, filepath.Join(n.root, "images", "pause.tar"))
}

func (n *node) socket() string { return filepath.Join(n.state, "containerd.sock") }

func podSubnet(slot int) string { return fmt.Sprintf("10.244.%d.0/24", slot) }

// importImage imports an OCI archive (`make image`'s) into the node's runtime, where Pods with
// imagePullPolicy IfNotPresent find it without a registry.
func (n *node) importImage(archive string) error {
	out, err := exec.Command(filepath.Join(n.bin, "ctr"), "--address", n.socket(), "-n", ctrNamespace,
		"images", "import", "--platform", "linux/"+runtime.GOARCH, archive).CombinedOutput()
	if err != nil {
		return fmt.Errorf("importing %s: %v: %s", archive, err, out)
	}
	return nil
}

// startProxy runs kube-proxy (iptables mode) for this node's Pods, once it holds the host's
// kube-proxy lock. Conntrack and localhost sysctls are left as the host has them.
func (n *node) startProxy() error {
	deadline := time.Now().Add(kubeProxyLockWait)
	for {
		if f, ok := tryLockFile(kubeProxyLock); ok {
			n.proxyMu = f
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("another node on this machine still runs kube-proxy after %s (%s is locked)", kubeProxyLockWait, kubeProxyLock)
		}
		time.Sleep(time.Second)
	}
	healthz, err := freePort()
	if err != nil {
		return err
	}
	metrics, err := freePort()
	if err != nil {
		return err
	}
	config := fmt.Sprintf(`apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection:
  kubeconfig: %s
hostnameOverride: %s
mode: iptables
clusterCIDR: %s
healthzBindAddress: 127.0.0.1:%d
metricsBindAddress: 127.0.0.1:%d
iptables:
  localhostNodePorts: false
conntrack:
  maxPerCore: 0
  min: 0
  tcpEstablishedTimeout: 0s
  tcpCloseWaitTimeout: 0s
`, filepath.Join(n.plane.dir, "kubeconfig"), n.name, podSubnet(n.slot), healthz, metrics)
	path := filepath.Join(n.root, "kube-proxy.yaml")
	if err := os.WriteFile(path, []byte(config), 0o644); err != nil {
		return err
	}
	_, _, _, cg, _, _ := slotPaths(n.slot)
	cmd, err := n.plane.spawnIn("kube-proxy", n.plane.self, []string{"--config=" + path, "--v=0"}, "kube-proxy.log",
		append(os.Environ(), "PATH="+n.bin+":"+os.Getenv("PATH")), filepath.Join(cg, "runtime"))
	if err != nil {
		return err
	}
	n.proxy.cmd = cmd
	// Ready once it has programmed the rules for the Services that exist (the kubernetes Service).
	url := fmt.Sprintf("http://127.0.0.1:%d/healthz", healthz)
	for end := time.Now().Add(60 * time.Second); time.Now().Before(end); time.Sleep(250 * time.Millisecond) {
		if cmd.ProcessState != nil {
			break
		}
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
	}
	return fmt.Errorf("kube-proxy not healthy within 60s (see %s)", filepath.Join(n.plane.dir, "kube-proxy.log"))
}

// stopProxy stops kube-proxy, removes the rules it wrote and gives the host's lock back.
func (n *node) stopProxy() {
	if n.proxyMu == nil {
		return
	}
	killCmd(n.proxy.cmd)
	n.proxy.cmd = nil
	removeProxyRules(n.plane.self)
	n.proxyMu.Close()
	n.proxyMu = nil
}

// removeProxyRules is kube-proxy's own cleanup of its iptables chains, plus the filter chain
// KUBE-FIREWALL that the cleanup leaves (it may be a kubelet's): removed only while empty.
func removeProxyRules(self string) {
	exec.Command(self, "kube-proxy", "--cleanup").Run()
	out, err := exec.Command("iptables", "-w", "-S", "KUBE-FIREWALL").Output()
	if err != nil || strings.TrimSpace(string(out)) != "-N KUBE-FIREWALL" {
		return
	}
	for _, hook := range []string{"INPUT", "OUTPUT"} {
		exec.Command("iptables", "-w", "-D", hook, "-j", "KUBE-FIREWALL").Run()
	}
	exec.Command("iptables", "-w", "-X", "KUBE-FIREWALL").Run()
}

// start runs containerd, imports the images, runs the kubelet and waits for a Ready Node.
func (n *node) start() error {
	_, _, _, cg, _, _ := slotPaths(n.slot)
	runtimeCgroup := filepath.Join(cg, "runtime")
	env := append(os.Environ(), "PATH="+n.bin+":"+os.Getenv("PATH"))
	cmd, err := n.plane.spawnIn("", filepath.Join(n.bin, "containerd"), []string{"--config", filepath.Join(n.root, "containerd.toml")}, "containerd.log", env, runtimeCgroup)
	if err != nil {
		return err
	}
	n.runtime.cmd = cmd
	if err := waitSocket(n.socket(), cmd, 60*time.Second); err != nil {
		return fmt.Errorf("containerd: %w (see %s)", err, filepath.Join(n.plane.dir, "containerd.log"))
	}
	for _, image := range []string{"pause.tar", "busybox.tar"} {
		out, err := exec.Command(filepath.Join(n.bin, "ctr"), "--address", n.socket(), "-n", ctrNamespace,
			"images", "import", "--platform", "linux/"+runtime.GOARCH, filepath.Join(n.root, "images", image)).CombinedOutput()
		if err != nil {
			return fmt.Errorf("importing %s: %v: %s", image, err, out)
		}
	}
	args := []string{
		"--config=" + filepath.Join(n.root, "kubelet.yaml"),
		"--kubeconfig=" + filepath.Join(n.root, "kubelet.kubeconfig"),
		"--hostname-override=" + n.name,
		// The kubelet refuses a loopback node IP, and its only other choices are the machine's own
		// addresses, where it would have to listen beyond loopback. As an "external cloud provider",
		// startNode gives the Node its address (127.0.0.1, where the kubelet listens) and lifts the
		// uninitialized taint, as a cloud's node controller does.
		"--cloud-provider=external",
		"--root-dir=" + filepath.Join(n.root, "kubelet"),
		// The kubelet serves any kubelet.crt it finds here; keep it apart from the certificates.
		"--cert-dir=" + filepath.Join(n.root, "kubelet", "pki"),
		"--v=0",
	}
	kcmd, err := n.plane.spawnIn("kubelet", n.plane.self, args, "kubelet.log", env, runtimeCgroup)
	if err != nil {
		return err
	}
	n.kubelet.cmd = kcmd
	if err := n.waitReady(nodeReadyWait); err != nil {
		return fmt.Errorf("node %s: %w (see %s)", n.name, err, filepath.Join(n.plane.dir, "kubelet.log"))
	}
	return nil
}

// restart kills the kubelet and containerd as a power cut would (the shims and containers live on,
// as they do on a real node) and starts both again.
func (n *node) restart() error {
	for _, s := range []*cmdSlot{n.kubelet, n.runtime} {
		killCmd(s.cmd)
		s.cmd = nil
	}
	return n.start()
}

func (n *node) teardown() {
	n.stopProxy()
	// Killed outright, like everything else of the node: a kubelet stopping gracefully would
	// first wait for Pods that are killed a moment later anyway.
	killCmd(n.kubelet.cmd)
	n.kubelet.cmd = nil
	cleanSlot(n.slot)
	n.runtime.cmd = nil
	if n.lock != nil {
		n.lock.Close()
		n.lock = nil
	}
	removeSharedKubeletDirs()
}

// cleanSlot removes everything a node in this slot started or wrote on the host.
func cleanSlot(slot int) {
	_, root, state, cg, bridge, network := slotPaths(slot)
	killCgroupTree(cg)
	// libcni caches each sandbox's loopback result under a network name shared by every containerd
	// (cni-loopback); ours are the sandboxes this slot's containerd made.
	sandboxes, _ := filepath.Glob(filepath.Join(root, "containerd", "io.containerd.grpc.v1.cri", "sandboxes", "*"))
	for _, sandbox := range sandboxes {
		os.Remove(filepath.Join("/var/lib/cni/results", "cni-loopback-"+filepath.Base(sandbox)+"-lo"))
	}
	unmountUnder(root, state)
	os.RemoveAll(state)
	os.RemoveAll(root)
	exec.Command("ip", "link", "delete", bridge).Run()
	// libcni's result cache is always under /var/lib/cni; entries are named after the network.
	if entries, err := filepath.Glob("/var/lib/cni/results/" + network + "-*"); err == nil {
		for _, e := range entries {
			os.Remove(e)
		}
	}
	// The kubelet links every container log into /var/log/containers; ours point into root.
	if entries, err := os.ReadDir("/var/log/containers"); err == nil {
		for _, e := range entries {
			p := filepath.Join("/var/log/containers", e.Name())
			if target, err := os.Readlink(p); err == nil && strings.HasPrefix(target, root+"/") {
				os.Remove(p)
			}
		}
	}
	removeCgroupTree(cg)
	removeDeadShimSockets()
}

// removeDeadShimSockets removes the sockets that runc shims leave in /run/containerd/s when they
// are killed (the directory is fixed; the names are hashes). A socket nobody listens on belongs to
// a dead shim; live ones (another node's, or a containerd of the machine's own) are left alone.
func removeDeadShimSockets() {
	const dir = "/run/containerd/s"
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		if c, err := net.DialTimeout("unix", p, time.Second); err == nil {
			c.Close()
		} else if errors.Is(err, syscall.ECONNREFUSED) {
			os.Remove(p)
		}
	}
	// Empty only when nothing else uses them; a containerd of the machine's own keeps its files.
	os.Remove(dir)
	os.Remove(filepath.Dir(dir))
}

// removeSharedKubeletDirs removes the directory every kubelet writes whatever its root dir
// (device-plugins), once no node is running.
func removeSharedKubeletDirs() {
	for i := 0; i < maxSlots; i++ {
		f, ok := tryLock(i, false)
		if !ok {
			return // a node is running (maybe this one, still holding its lock): leave them
		}
		if f != nil {
			f.Close()
		}
	}
	if _, err := os.Stat(sharedKubeletMarker); err != nil {
		return // a kubelet of this machine's own had it first
	}
	os.RemoveAll(sharedKubeletDir)
	os.Remove(filepath.Dir(sharedKubeletDir))
	os.Remove(sharedKubeletMarker)
	os.Remove("/var/log/containers")
	os.Remove("/var/lib/planasonix")
	os.Remove("/var/lib/cni/results")
	os.Remove("/var/lib/cni")
}

// --- cgroups (v1 hierarchies, and the unified one where mounted) --------------------------------

func cgroupMounts() []string {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	defer f.Close()
	var mounts []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		sep := -1
		for i, f := range fields {
			if f == "-" {
				sep = i
				break
			}
		}
		if sep < 0 || sep+1 >= len(fields) {
			continue
		}
		if t := fields[sep+1]; t == "cgroup" || t == "cgroup2" {
			mounts = append(mounts, fields[4])
		}
	}
	return mounts
}

func makeCgroup(rel string) error {
	for _, m := range cgroupMounts() {
		parts := strings.Split(rel, "/")
		for i := range parts {
			dir := filepath.Join(append([]string{m}, parts[:i+1]...)...)
			if err := os.Mkdir(dir, 0o755); err != nil && !os.IsExist(err) {
				return fmt.Errorf("creating cgroup %s: %w", dir, err)
			}
			// A new cpuset cgroup has no CPUs or memory nodes until given its parent's.
			for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
				if b, err := os.ReadFile(filepath.Join(filepath.Dir(dir), f)); err == nil {
					if cur, _ := os.ReadFile(filepath.Join(dir, f)); strings.TrimSpace(string(cur)) == "" {
						os.WriteFile(filepath.Join(dir, f), b, 0o644)
					}
				}
			}
		}
	}
	return nil
}

func joinCgroup(rel string, pid int) {
	for _, m := range cgroupMounts() {
		os.WriteFile(filepath.Join(m, rel, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0o644)
	}
}

// killCgroupTree SIGKILLs every process in the tree, in every hierarchy, until none is left.
func killCgroupTree(rel string) {
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		found := false
		for _, m := range cgroupMounts() {
			filepath.WalkDir(filepath.Join(m, rel), func(p string, d os.DirEntry, err error) error {
				if err != nil || !d.IsDir() {
					return nil
				}
				b, _ := os.ReadFile(filepath.Join(p, "cgroup.procs"))
				for _, f := range strings.Fields(string(b)) {
					if pid, err := strconv.Atoi(f); err == nil && pid != os.Getpid() {
						found = true
						syscall.Kill(pid, syscall.SIGKILL)
					}
				}
				// A frozen cgroup (a container being paused) would keep its processes alive.
				if _, err := os.Stat(filepath.Join(p, "freezer.state")); err == nil {
					os.WriteFile(filepath.Join(p, "freezer.state"), []byte("THAWED"), 0o644)
				}
				return nil
			})
		}
		if !found {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func removeCgroupTree(rel string) {
	for _, m := range cgroupMounts() {
		var dirs []string
		filepath.WalkDir(filepath.Join(m, rel), func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		sort.Sort(sort.Reverse(sort.StringSlice(dirs))) // children before parents
		for _, d := range dirs {
			syscall.Rmdir(d)
		}
	}
}

// unmountUnder detaches every mount below the given directories, deepest first: the kubelet
// bind-mounts its root onto itself, containers' root filesystems are overlays under containerd's
// state, and network namespaces are bind mounts.
func unmountUnder(dirs ...string) {
	for attempt := 0; attempt < 5; attempt++ {
		b, err := os.ReadFile("/proc/self/mountinfo")
		if err != nil {
			return
		}
		var targets []string
		for _, line := range strings.Split(string(b), "\n") {
			fields := strings.Fields(line)
			if len(fields) < 5 {
				continue
			}
			mp := unescapeMount(fields[4])
			for _, d := range dirs {
				if mp == d || strings.HasPrefix(mp, d+"/") {
					targets = append(targets, mp)
				}
			}
		}
		if len(targets) == 0 {
			return
		}
		sort.Slice(targets, func(i, j int) bool { return len(targets[i]) > len(targets[j]) })
		for _, t := range targets {
			syscall.Unmount(t, syscall.MNT_DETACH)
		}
	}
}

func unescapeMount(s string) string {
	r := strings.NewReplacer(`\040`, " ", `\011`, "\t", `\012`, "\n", `\134`, `\`)
	return r.Replace(s)
}

// --- processes and readiness ---------------------------------------------------------------------

func waitSocket(path string, cmd *exec.Cmd, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if cmd.ProcessState != nil {
			return fmt.Errorf("exited: %s", cmd.ProcessState)
		}
		if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("no socket %s within %s", path, timeout)
}

// waitReady waits for the Node to be Ready and free of the not-ready taint (the node lifecycle
// controller removes it), so that the scheduler places Pods on it.
func (n *node) waitReady(timeout time.Duration) error {
	client, err := n.plane.adminHTTP()
	if err != nil {
		return err
	}
	deadline := time.Now().Add(timeout)
	last := "not registered"
	url := fmt.Sprintf("https://127.0.0.1:%d/api/v1/nodes/%s", n.plane.port, n.name)
	for time.Now().Before(deadline) {
		if c := n.kubelet.cmd; c == nil || c.ProcessState != nil {
			return errors.New("the kubelet exited")
		}
		resp, err := client.Get(url)
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			var obj struct {
				Metadata struct {
					ResourceVersion string `json:"resourceVersion"`
				} `json:"metadata"`
				Spec struct {
					Taints []map[string]any `json:"taints"`
				} `json:"spec"`
				Status struct {
					Addresses  []struct{ Type, Address string }         `json:"addresses"`
					Conditions []struct{ Type, Status, Message string } `json:"conditions"`
				} `json:"status"`
			}
			if resp.StatusCode == http.StatusOK && json.Unmarshal(body, &obj) == nil {
				// The cloud node controller's part (see --cloud-provider=external above).
				hasAddress := false
				for _, a := range obj.Status.Addresses {
					hasAddress = hasAddress || (a.Type == "InternalIP" && a.Address == "127.0.0.1")
				}
				if !hasAddress {
					patch(client, url+"/status", map[string]any{"status": map[string]any{"addresses": []map[string]string{
						{"type": "InternalIP", "address": "127.0.0.1"}, {"type": "Hostname", "address": n.name}}}})
				}
				kept := []map[string]any{}
				for _, t := range obj.Spec.Taints {
					if t["key"] != "node.cloudprovider.kubernetes.io/uninitialized" {
						kept = append(kept, t)
					}
				}
				if len(kept) != len(obj.Spec.Taints) {
					// With the resourceVersion: a taint the node lifecycle controller changed meanwhile is a conflict, retried.
					patch(client, url, map[string]any{"metadata": map[string]any{"resourceVersion": obj.Metadata.ResourceVersion}, "spec": map[string]any{"taints": kept}})
				}
				ready, tainted := false, false
				for _, c := range obj.Status.Conditions {
					if c.Type == "Ready" {
						ready = c.Status == "True"
						last = "Ready=" + c.Status + ": " + c.Message
					}
				}
				for _, t := range obj.Spec.Taints {
					if key, _ := t["key"].(string); key != "" {
						tainted = true
						last += "; tainted " + key
					}
				}
				if ready && !tainted && hasAddress {
					return nil
				}
			}
		}
		time.Sleep(250 * time.Millisecond)
	}
	return fmt.Errorf("not Ready within %s (%s)", timeout, last)
}

// patch sends a JSON merge patch; failures are retried by the caller's next round.
func patch(client *http.Client, url string, body any) {
	b, _ := json.Marshal(body)
	req, err := http.NewRequest(http.MethodPatch, url, strings.NewReader(string(b)))
	if err != nil {
		return
	}
	req.Header.Set("Content-Type", "application/merge-patch+json")
	if resp, err := client.Do(req); err == nil {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}

func (p *plane) adminHTTP() (*http.Client, error) {
	cert, err := tls.LoadX509KeyPair(filepath.Join(p.dir, "admin.crt"), filepath.Join(p.dir, "admin.key"))
	if err != nil {
		return nil, err
	}
	caPEM, err := os.ReadFile(filepath.Join(p.dir, "ca.crt"))
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	return &http.Client{
		Timeout:   5 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}}},
	}, nil
}
