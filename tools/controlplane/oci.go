package main

// Images for the local node without a registry: nothing can be pulled on these machines, so the
// pipeline image (Debian's static busybox) and the sandbox image (tools/node-runtime/pause) are written as
// OCI image-layout archives and imported into containerd's store. Timestamps are fixed, so the same
// inputs give the same digests on every machine.

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"
)

// imageFile is one file of an image's single layer.
type imageFile struct {
	path     string // without a leading slash
	mode     int64
	content  []byte
	linkName string // a symlink when set
}

type imageSpec struct {
	name       string // io.containerd.image.name, e.g. planasonix.local/busybox:1
	files      []imageFile
	dirs       []string
	entrypoint []string
	cmd        []string
}

var epoch = time.Unix(0, 0).UTC()

// busyboxImage is a one-layer image of the static busybox at path, with a link per applet in /bin.
func busyboxImage(name, path string) (imageSpec, error) {
	binary, err := os.ReadFile(path)
	if err != nil {
		return imageSpec{}, err
	}
	// The image has no libc: a dynamically linked busybox (Debian's package busybox) cannot run in it.
	if f, err := elf.Open(path); err == nil {
		dynamic := f.Section(".interp") != nil
		f.Close()
		if dynamic {
			return imageSpec{}, fmt.Errorf("%s is dynamically linked; the image needs busybox-static (make node-tools)", path)
		}
	}
	out, err := exec.Command(path, "--list").Output()
	if err != nil {
		return imageSpec{}, fmt.Errorf("%s --list: %w", path, err)
	}
	spec := imageSpec{
		name:  name,
		dirs:  []string{"bin", "etc", "tmp", "proc", "sys", "dev", "root"},
		files: []imageFile{{path: "bin/busybox", mode: 0o755, content: binary}},
		cmd:   []string{"sh"},
	}
	spec.files = append(spec.files,
		imageFile{path: "etc/passwd", mode: 0o644, content: []byte("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n")},
		imageFile{path: "etc/group", mode: 0o644, content: []byte("root:x:0:\nnogroup:x:65534:\n")},
	)
	for _, applet := range strings.Fields(string(out)) {
		if applet != "busybox" && !strings.Contains(applet, "/") {
			spec.files = append(spec.files, imageFile{path: "bin/" + applet, mode: 0o777, linkName: "busybox"})
		}
	}
	return spec, nil
}

// pauseImage is a one-layer image whose entrypoint is the pause binary at path.
func pauseImage(name, path string) (imageSpec, error) {
	binary, err := os.ReadFile(path)
	if err != nil {
		return imageSpec{}, err
	}
	return imageSpec{name: name, files: []imageFile{{path: "pause", mode: 0o755, content: binary}}, entrypoint: []string{"/pause"}}, nil
}

// writeOCIArchive writes spec as an OCI image-layout tar archive that `ctr images import` accepts.
func writeOCIArchive(spec imageSpec, out string) error {
	var layer bytes.Buffer
	tw := tar.NewWriter(&layer)
	for _, d := range spec.dirs {
		mode := int64(0o755)
		if d == "tmp" {
			mode = 0o1777
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d + "/", Mode: mode, ModTime: epoch}); err != nil {
			return err
		}
	}
	for _, f := range spec.files {
		h := &tar.Header{Name: f.path, Mode: f.mode, ModTime: epoch}
		if f.linkName != "" {
			h.Typeflag, h.Linkname = tar.TypeSymlink, f.linkName
		} else {
			h.Typeflag, h.Size = tar.TypeReg, int64(len(f.content))
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if f.linkName == "" {
			if _, err := tw.Write(f.content); err != nil {
				return err
			}
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestSpeed)
	zw.ModTime = epoch
	if _, err := zw.Write(layer.Bytes()); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}

	blobs := map[string][]byte{}
	add := func(b []byte) string {
		sum := sha256.Sum256(b)
		d := "sha256:" + hex.EncodeToString(sum[:])
		blobs[d] = b
		return d
	}
	diffID := sha256.Sum256(layer.Bytes())
	layerDigest := add(gz.Bytes())
	config, _ := json.Marshal(map[string]any{
		"architecture": runtime.GOARCH,
		"os":           "linux",
		"created":      epoch.Format(time.RFC3339),
		"config": map[string]any{
			"Env":        []string{"PATH=/bin"},
			"Entrypoint": spec.entrypoint,
			"Cmd":        spec.cmd,
		},
		"rootfs": map[string]any{"type": "layers", "diff_ids": []string{"sha256:" + hex.EncodeToString(diffID[:])}},
	})
	configDigest := add(config)
	manifest, _ := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"mediaType":     "application/vnd.oci.image.manifest.v1+json",
		"config":        map[string]any{"mediaType": "application/vnd.oci.image.config.v1+json", "digest": configDigest, "size": len(config)},
		"layers":        []any{map[string]any{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": layerDigest, "size": gz.Len()}},
	})
	manifestDigest := add(manifest)
	tag := spec.name[strings.LastIndex(spec.name, ":")+1:]
	index, _ := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"mediaType":     "application/vnd.oci.image.index.v1+json",
		"manifests": []any{map[string]any{
			"mediaType":   "application/vnd.oci.image.manifest.v1+json",
			"digest":      manifestDigest,
			"size":        len(manifest),
			"platform":    map[string]string{"architecture": runtime.GOARCH, "os": "linux"},
			"annotations": map[string]string{"io.containerd.image.name": spec.name, "org.opencontainers.image.ref.name": tag},
		}},
	})

	f, err := os.Create(out)
	if err != nil {
		return err
	}
	defer f.Close()
	aw := tar.NewWriter(f)
	write := func(name string, b []byte) error {
		if err := aw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(b)), ModTime: epoch}); err != nil {
			return err
		}
		_, err := aw.Write(b)
		return err
	}
	if err := write("oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`)); err != nil {
		return err
	}
	if err := write("index.json", index); err != nil {
		return err
	}
	for d, b := range blobs {
		if err := write("blobs/sha256/"+strings.TrimPrefix(d, "sha256:"), b); err != nil {
			return err
		}
	}
	if err := aw.Close(); err != nil {
		return err
	}
	return f.Close()
}
