// What the proxy lets through: the calls sandboxes/*.ts make, on sandbox containers only (label pivotrl.sandbox=1),
// and container creates that keep a sandbox a sandbox (no privilege, no host path, no host namespace, no extra
// capability, no unconfined profile).
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
)

const (
	sandboxLabel = "pivotrl.sandbox"
	maxBody      = 1 << 20
)

// The capabilities a sandbox's runner holds (sandboxes/sandbox.ts); every other one is refused.
var sandboxCaps = map[string]bool{"SETUID": true, "SETGID": true, "KILL": true, "DAC_OVERRIDE": true, "FOWNER": true}

var (
	versionPrefix = regexp.MustCompile(`^/v[0-9]+(\.[0-9]+)?`)
	imageInspect  = regexp.MustCompile(`^/images/.+/json$`)
	containerOp   = regexp.MustCompile(`^/containers/([A-Za-z0-9_.-]+)(/[a-z]+)?$`)
	execOp        = regexp.MustCompile(`^/exec/([A-Za-z0-9]+)/([a-z]+)$`)
)

type policy struct{ engine *http.Client }

// check answers why the request is refused, or "" to forward it.
func (p *policy) check(r *http.Request) string {
	path := versionPrefix.ReplaceAllString(r.URL.Path, "")
	get := r.Method == http.MethodGet || r.Method == http.MethodHead
	switch {
	case path == "/_ping" && get, path == "/version" && r.Method == http.MethodGet:
		return ""
	case path == "/containers/json" && r.Method == http.MethodGet:
		return onlySandboxes(r.URL)
	case path == "/containers/create" && r.Method == http.MethodPost:
		return p.checkBody(r, checkCreate)
	case imageInspect.MatchString(path) && r.Method == http.MethodGet:
		return ""
	}
	if m := containerOp.FindStringSubmatch(path); m != nil && m[1] != "json" && m[1] != "create" {
		op := r.Method + " " + m[2]
		switch op {
		case "GET /json", "GET /top", "POST /start", "POST /wait", "DELETE ":
		case "POST /exec":
			if why := p.checkBody(r, checkExec); why != "" {
				return why
			}
		default:
			return fmt.Sprintf("%s %s is not an operation the worker needs", r.Method, path)
		}
		return p.sandbox("containers/"+m[1]+"/json", "")
	}
	if m := execOp.FindStringSubmatch(path); m != nil {
		switch r.Method + " " + m[2] {
		case "POST start", "POST resize", "GET json":
			return p.sandbox("exec/"+m[1]+"/json", "ContainerID")
		}
	}
	return fmt.Sprintf("%s %s is not an operation the worker needs", r.Method, path)
}

// onlySandboxes narrows a container listing to sandboxes: label pivotrl.sandbox=1 is added to its filters (in either
// of the engine's forms: a list, or a set as an object).
func onlySandboxes(u *url.URL) string {
	q := u.Query()
	filters := map[string]any{}
	if f := q.Get("filters"); f != "" {
		if err := json.Unmarshal([]byte(f), &filters); err != nil {
			return "container listing filters: " + err.Error()
		}
	}
	switch labels := filters["label"].(type) {
	case nil:
		filters["label"] = []string{sandboxLabel + "=1"}
	case []any:
		filters["label"] = append(labels, sandboxLabel+"=1")
	case map[string]any:
		labels[sandboxLabel+"=1"] = true
	default:
		return "container listing filters: label is neither a list nor a set"
	}
	q.Set("filters", string(mustJSON(filters)))
	u.RawQuery = q.Encode()
	return ""
}

// sandbox asks the engine whether the object at path (a container, or an exec whose field names its container) is a
// sandbox container.
func (p *policy) sandbox(path, containerField string) string {
	var obj map[string]json.RawMessage
	if err := p.get(path, &obj); err != nil {
		return err.Error()
	}
	if containerField != "" {
		var id string
		if json.Unmarshal(obj[containerField], &id) != nil || id == "" {
			return "no container named by " + path
		}
		return p.sandbox("containers/"+id+"/json", "")
	}
	var c struct {
		Config struct{ Labels map[string]string }
	}
	if err := json.Unmarshal(mustJSON(obj), &c); err != nil || c.Config.Labels[sandboxLabel] != "1" {
		return "not a sandbox container (label " + sandboxLabel + "=1)"
	}
	return ""
}

func (p *policy) get(path string, v any) error {
	res, err := p.engine.Get("http://docker/" + path)
	if err != nil {
		return fmt.Errorf("engine: %v", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("engine answered %d to %s", res.StatusCode, path)
	}
	return json.NewDecoder(io.LimitReader(res.Body, maxBody)).Decode(v)
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// checkBody reads the request's JSON body (at most maxBody), checks it, and puts it back for the engine.
func (p *policy) checkBody(r *http.Request, check func([]byte) string) string {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	r.Body.Close()
	if err != nil {
		return "unreadable body: " + err.Error()
	}
	if len(body) > maxBody {
		return "body over 1 MiB"
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	return check(body)
}

type createBody struct {
	Labels     map[string]string
	HostConfig struct {
		Privileged                                         bool
		Binds, VolumesFrom, CapAdd, SecurityOpt, Devices   []json.RawMessage
		Mounts                                             []struct{ Type string }
		NetworkMode, PidMode, IpcMode, UTSMode, UsernsMode string
		CgroupnsMode, CgroupParent                         string
		DeviceRequests, DeviceCgroupRules                  []json.RawMessage
	}
}

func checkCreate(body []byte) string {
	var c createBody
	if err := json.Unmarshal(body, &c); err != nil {
		return "container create: " + err.Error()
	}
	h := c.HostConfig
	switch {
	case c.Labels[sandboxLabel] != "1":
		return "container create without label " + sandboxLabel + "=1"
	case h.Privileged:
		return "privileged container"
	case len(h.Binds) > 0:
		return "bind mounts (HostConfig.Binds)"
	case len(h.VolumesFrom) > 0:
		return "volumes of another container (HostConfig.VolumesFrom)"
	case len(h.Devices) > 0 || len(h.DeviceRequests) > 0 || len(h.DeviceCgroupRules) > 0:
		return "host devices"
	case h.CgroupParent != "":
		return "a cgroup parent"
	}
	for _, m := range h.Mounts {
		if m.Type != "tmpfs" {
			return fmt.Sprintf("a %q mount (only tmpfs)", m.Type)
		}
	}
	for name, mode := range map[string]string{"NetworkMode": h.NetworkMode, "PidMode": h.PidMode, "IpcMode": h.IpcMode,
		"UTSMode": h.UTSMode, "UsernsMode": h.UsernsMode, "CgroupnsMode": h.CgroupnsMode} {
		if mode == "host" || strings.HasPrefix(mode, "container:") {
			return fmt.Sprintf("%s %s", name, mode)
		}
	}
	for _, raw := range h.CapAdd {
		var cap string
		json.Unmarshal(raw, &cap)
		if !sandboxCaps[strings.TrimPrefix(strings.ToUpper(cap), "CAP_")] {
			return fmt.Sprintf("capability %q", cap)
		}
	}
	noNewPrivileges := false
	for _, raw := range h.SecurityOpt {
		var opt string
		json.Unmarshal(raw, &opt)
		o := strings.ToLower(opt)
		if strings.Contains(o, "unconfined") || strings.Contains(o, "disable") {
			return fmt.Sprintf("security option %q", opt)
		}
		noNewPrivileges = noNewPrivileges || o == "no-new-privileges" || o == "no-new-privileges:true" || o == "no-new-privileges=true"
	}
	if !noNewPrivileges {
		return "container create without security option no-new-privileges"
	}
	return ""
}

func checkExec(body []byte) string {
	var e struct{ Privileged bool }
	if err := json.Unmarshal(body, &e); err != nil {
		return "exec create: " + err.Error()
	}
	if e.Privileged {
		return "privileged exec"
	}
	return ""
}
