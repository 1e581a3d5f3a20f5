package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/switchyard/switchyard/secret"
	"github.com/switchyard/switchyard/sources"
)

// buildNATS builds the real nats-server from the module once per run.
var buildNATSOnce = sync.OnceValues(func() (string, error) {
	bin := filepath.Join(binDir, "nats-server")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/nats-io/nats-server/v2").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build nats-server: %v\n%s", err, out)
	}
	return bin, nil
})

// natsNode is one nats-server process of a loopback cluster.
type natsNode struct {
	name                  string
	client, route, status int
	cmd                   *exec.Cmd
	done                  chan error
	log                   string
}

func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ls []net.Listener
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		l.Close()
	}
	return ports
}

// startNATSCluster starts three JetStream nodes n1..n3 on loopback, each
// with its own store, and waits until they have elected a meta leader and
// all three are current.
func startNATSCluster(t *testing.T) []*natsNode {
	t.Helper()
	bin, err := buildNATSOnce()
	if err != nil {
		t.Fatal(err)
	}
	ports := freePorts(t, 9)
	nodes := make([]*natsNode, 3)
	var routes []string
	for i := range nodes {
		nodes[i] = &natsNode{name: fmt.Sprintf("n%d", i+1), client: ports[3*i], route: ports[3*i+1], status: ports[3*i+2]}
		routes = append(routes, fmt.Sprintf("nats://127.0.0.1:%d", nodes[i].route))
	}
	dir := t.TempDir()
	for _, n := range nodes {
		n.log = filepath.Join(dir, n.name+".log")
		logf, err := os.Create(n.log)
		if err != nil {
			t.Fatal(err)
		}
		n.cmd = exec.Command(bin, "-n", n.name, "-a", "127.0.0.1", "-p", fmt.Sprint(n.client),
			"-m", fmt.Sprint(n.status), "-js", "-sd", filepath.Join(dir, n.name),
			"--cluster_name", "switchyard-test", "--cluster", fmt.Sprintf("nats://127.0.0.1:%d", n.route),
			"--routes", strings.Join(routes, ","))
		n.cmd.Stdout, n.cmd.Stderr = logf, logf
		if err := n.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		n.done = make(chan error, 1)
		exited := make(chan struct{})
		go func() {
			err := n.cmd.Wait()
			logf.Close()
			close(exited)
			n.done <- err
		}()
		t.Cleanup(func() {
			select {
			case <-exited:
			default:
				_ = n.cmd.Process.Kill()
				<-exited
			}
			if t.Failed() {
				b, _ := os.ReadFile(n.log)
				t.Logf("%s log (tail):\n%s", n.name, tail(string(b), 4000))
			}
		})
	}
	waitFor(t, "a JetStream meta leader with three current peers", 60*time.Second, func() bool {
		leaders := 0
		for _, n := range nodes {
			ok, leader := n.meta()
			if !ok {
				return false
			}
			if leader {
				leaders++
			}
		}
		return leaders == 1
	})
	return nodes
}

// meta says whether this node knows a meta leader of a three-node cluster,
// and whether it is that leader and sees both other peers current (only
// the leader knows that).
func (n *natsNode) meta() (ready, leader bool) {
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/jsz", n.status))
	if err != nil {
		return false, false
	}
	defer resp.Body.Close()
	var jsz struct {
		Meta *struct {
			Leader   string `json:"leader"`
			Size     int    `json:"cluster_size"`
			Replicas []struct {
				Current bool `json:"current"`
			} `json:"replicas"`
		} `json:"meta_cluster"`
	}
	if json.NewDecoder(resp.Body).Decode(&jsz) != nil || jsz.Meta == nil || jsz.Meta.Leader == "" || jsz.Meta.Size != 3 {
		return false, false
	}
	if jsz.Meta.Leader != n.name {
		return true, false
	}
	current := 0
	for _, r := range jsz.Meta.Replicas {
		if r.Current {
			current++
		}
	}
	return current == 2, true
}

// clients counts the node's client connections with the given name; -1
// when the node cannot say.
func (n *natsNode) clients(name string) int {
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/connz?limit=1000", n.status))
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	var connz struct {
		Conns []struct {
			Name string `json:"name"`
		} `json:"connections"`
	}
	if json.NewDecoder(resp.Body).Decode(&connz) != nil {
		return -1
	}
	c := 0
	for _, cn := range connz.Conns {
		if cn.Name == name {
			c++
		}
	}
	return c
}

func (n *natsNode) url() string { return fmt.Sprintf("nats://127.0.0.1:%d", n.client) }

// startReplicas starts a three-node JetStream cluster and two switchyard
// serve replicas on it, a and b, both with the rules file rulesYAML and
// the environment env, each with its own --data.
func startReplicas(t *testing.T, bin, rulesYAML string, env []string) (nodes []*natsNode, a, b *proc) {
	t.Helper()
	nodes = startNATSCluster(t)
	dir := t.TempDir()
	rulesPath := filepath.Join(dir, "rules.yaml")
	if err := os.WriteFile(rulesPath, []byte(rulesYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	urls := nodes[0].url() + "," + nodes[1].url() + "," + nodes[2].url()
	a = startServe(t, bin, rulesPath, filepath.Join(dir, "a"), env, "--nats", urls)
	b = startServe(t, bin, rulesPath, filepath.Join(dir, "b"), env, "--nats", urls)
	return nodes, a, b
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// TestClusterLosesNothingAcknowledged runs two switchyard replicas on a
// three-node JetStream cluster with streams replicated three times, sends
// votes to both, sends one delivery to both at once (a vendor retry landing
// on the other replica), then SIGKILLs one replica and one NATS node
// mid-stream: every vote answered 202 is delivered at least once.
func TestClusterLosesNothingAcknowledged(t *testing.T) {
	bin := buildBinary(t)
	sink := newIDSink(t, 20*time.Millisecond)
	const plSecret = "cluster-secret"
	env := []string{"PL_SECRET=" + plSecret, "SINK=" + sink.url}
	nodes, a, b := startReplicas(t, bin, fmt.Sprintf(crashRules, "queue:\n  replicas: 3\n"), env)
	cfg := sources.Config{Name: "productlift", Vendor: "productlift", Secret: secret.Secret(plSecret)}

	t.Run("one delivery sent to both replicas is stored and delivered once", func(t *testing.T) {
		tmpl := readFixture(t, "productlift/vote.created.json")
		client := &http.Client{Timeout: 60 * time.Second}
		var wg sync.WaitGroup
		res := make([]ingestResult, 2)
		for i, p := range []*proc{a, b} {
			wg.Go(func() { res[i] = postVote(t, client, cfg, p.public, tmpl, "same-1") })
		}
		wg.Wait()
		if res[0].status != http.StatusAccepted || res[1].status != http.StatusAccepted {
			t.Fatalf("statuses %d, %d; want 202 from both replicas", res[0].status, res[1].status)
		}
		if res[0].duplicate == res[1].duplicate {
			t.Fatalf("duplicate flags %v, %v; want exactly one first delivery", res[0].duplicate, res[1].duplicate)
		}
		waitFor(t, "the delivery", 60*time.Second, func() bool { return len(sink.missing([]string{"same-1"})) == 0 })
	})

	const n = 300
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("cl-%04d", i)
	}
	var accepted atomic.Int64
	var bDead atomic.Bool
	resultsCh := make(chan []ingestResult, 1)
	go func() {
		resultsCh <- sendVotes(t, cfg, ids, 6, func(i int) string {
			if i%2 == 1 && !bDead.Load() {
				return b.public
			}
			return a.public
		}, &accepted, nil)
	}()
	waitFor(t, "a third of the votes acknowledged", 120*time.Second, func() bool { return accepted.Load() >= n/3 })
	b.signal(t, syscall.SIGKILL)
	bDead.Store(true)
	<-b.done
	// Kill the node the surviving replica is connected to, so that it has
	// to reconnect as well as ride out the leader elections: once b's
	// connection is gone, the node holding a "switchyard" client is it.
	var victim *natsNode
	waitFor(t, "the surviving replica's NATS node", 30*time.Second, func() bool {
		victim = nil
		for _, n := range nodes {
			switch c := n.clients("switchyard"); {
			case c < 0 || c > 1 || c == 1 && victim != nil:
				return false
			case c == 1:
				victim = n
			}
		}
		return victim != nil
	})
	if err := victim.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-victim.done
	killedAt := time.Now()
	deliveredAtKill, _, _ := sink.stats()
	t.Logf("killed replica b and NATS node %s at %d acknowledged, %d delivered", victim.name, accepted.Load(), deliveredAtKill)

	results := <-resultsCh
	ack := acked(results)
	counts := statusCounts(results)
	t.Logf("sent %d: %v by status (0 = no answer: the killed replica; 503 = store unavailable, the vendor retries)", n, counts)
	for st := range counts {
		if st != 0 && st != http.StatusAccepted && st != http.StatusServiceUnavailable {
			t.Errorf("%d answers with status %d", counts[st], st)
		}
	}
	if len(ack) < n/2 {
		t.Fatalf("only %d of %d acknowledged", len(ack), n)
	}
	waitFor(t, "every acknowledged vote delivered", 120*time.Second, func() bool { return len(sink.missing(ack)) == 0 })
	distinct, total, dups := sink.stats()
	t.Logf("all %d acknowledged delivered %s after the kills; %d distinct ids, %d deliveries, %d duplicates %v",
		len(ack), time.Since(killedAt).Round(time.Millisecond), distinct, total, len(dups), head(dups, 10))
	if most := sink.most(); most > 2 {
		t.Errorf("an id was delivered %d times", most)
	}
	sink.mu.Lock()
	same := sink.got["same-1"]
	sink.mu.Unlock()
	if same != 1 {
		t.Errorf("the delivery sent to both replicas reached the sink %d times, want 1", same)
	}
	waitFor(t, "the surviving replica ready on two NATS nodes", 60*time.Second, func() bool {
		resp, err := http.Get(a.admin + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}
