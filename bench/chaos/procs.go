package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// validator is one `settled run` process of the chaos cluster. The harness
// kills it with SIGKILL, wipes its data directory, and restarts it.
type validator struct {
	index   int
	name    string
	cfg     string // config file
	dataDir string
	api     string // host:port
	binary  string
	logPath string

	mu struct {
		sync.Mutex
		cmd     *exec.Cmd
		exited  chan struct{}
		up      bool      // started and not killed
		started time.Time // last start
		starts  int
	}
}

func loadValidator(dir, binary string, i int) (*validator, error) {
	name := "v" + strconv.Itoa(i)
	v := &validator{index: i, name: name, cfg: filepath.Join(dir, name+".json"), binary: binary,
		logPath: filepath.Join(dir, "logs", name+".log")}
	raw, err := os.ReadFile(v.cfg)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", v.cfg, err)
	}
	var fc struct {
		APIAddr string `json:"api_addr"`
		DataDir string `json:"data_dir"`
	}
	if err := json.Unmarshal(raw, &fc); err != nil || fc.APIAddr == "" || fc.DataDir == "" {
		return nil, fmt.Errorf("config %s: no api_addr or data_dir (%v)", v.cfg, err)
	}
	v.api, v.dataDir = fc.APIAddr, fc.DataDir
	if !filepath.IsAbs(v.dataDir) {
		v.dataDir = filepath.Join(dir, v.dataDir)
	}
	return v, nil
}

// start runs the validator; its output goes to its log file (appended across
// restarts).
func (v *validator) start() error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.mu.up {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(v.logPath), 0o755); err != nil {
		return err
	}
	log, err := os.OpenFile(v.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	fmt.Fprintf(log, "=== chaos: start %d at %s\n", v.mu.starts+1, time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(v.binary, "run", "-config", v.cfg)
	cmd.Stdout, cmd.Stderr = log, log
	// Own process group, and killed by the kernel if the harness dies.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		log.Close()
		return fmt.Errorf("start %s: %w", v.name, err)
	}
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		log.Close()
		close(exited)
	}()
	v.mu.cmd, v.mu.exited, v.mu.up, v.mu.started = cmd, exited, true, time.Now()
	v.mu.starts++
	return nil
}

// kill sends SIGKILL to the validator's process group and waits for it.
func (v *validator) kill() {
	v.mu.Lock()
	cmd, exited := v.mu.cmd, v.mu.exited
	v.mu.up = false
	v.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	<-exited
}

// stop sends SIGTERM and waits, then SIGKILL after a timeout.
func (v *validator) stop(timeout time.Duration) {
	v.mu.Lock()
	cmd, exited := v.mu.cmd, v.mu.exited
	v.mu.up = false
	v.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(timeout):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
	}
}

// wipe deletes the data directory (the validator must be down). Its config,
// key and wiped-disk marker stay, so it restarts with its safety state lost.
func (v *validator) wipe() error {
	if v.isUp() {
		return fmt.Errorf("wipe %s while it runs", v.name)
	}
	return os.RemoveAll(v.dataDir)
}

func (v *validator) isUp() bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.mu.up
}

// exitedUnexpectedly reports a process that is marked up but has exited.
func (v *validator) exitedUnexpectedly() bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	if !v.mu.up || v.mu.exited == nil {
		return false
	}
	select {
	case <-v.mu.exited:
		return true
	default:
		return false
	}
}

// nodeStatus is the part of GET /v1/status the harness reads.
type nodeStatus struct {
	Height           uint64 `json:"height"`
	View             uint64 `json:"view"`
	Leader           string `json:"leader"`
	Ready            bool   `json:"ready"`
	Syncing          bool   `json:"syncing"`
	BehindBlocks     uint64 `json:"behind_blocks"`
	SafetyRecovering bool   `json:"safety_recovering"`
	StateHash        string `json:"state_hash"`
}

var statusClient = &http.Client{Timeout: 2 * time.Second}

func (v *validator) status(ctx context.Context) (nodeStatus, error) {
	var st nodeStatus
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+v.api+"/v1/status", nil)
	if err != nil {
		return st, err
	}
	resp, err := statusClient.Do(req)
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return st, fmt.Errorf("%s status: HTTP %d", v.name, resp.StatusCode)
	}
	return st, json.NewDecoder(resp.Body).Decode(&st)
}
