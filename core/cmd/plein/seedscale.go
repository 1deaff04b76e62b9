package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/pleinhq/plein/core/app"
	"github.com/pleinhq/plein/core/authz"
	"github.com/pleinhq/plein/core/authz/authzsource"
	"github.com/pleinhq/plein/core/blob"
	"github.com/pleinhq/plein/core/bus"
	"github.com/pleinhq/plein/core/changes"
	"github.com/pleinhq/plein/core/config"
	"github.com/pleinhq/plein/core/content"
	"github.com/pleinhq/plein/core/demo/scale"
	"github.com/pleinhq/plein/core/documents"
	"github.com/pleinhq/plein/core/identity"
	"github.com/pleinhq/plein/core/ratelimit"
	"github.com/pleinhq/plein/core/spaces"
)

// seedScale grows the demo organisation for a load benchmark (make bench).
func (c cli) seedScale(args []string) error {
	fs, parse := c.flags("seed scale")
	users := fs.Int("users", 2000, "users to add beside the demo's 190 (password as the demo's)")
	items := fs.Int("items", 100_000, "posts, news and pages to add over the demo's spaces")
	likes := fs.Int("likes", 1_000_000, "likes to add, stored as the likes plugin stores them")
	docs := fs.Int("documents", 20, "documents to add, their bytes in the blob store")
	docKiB := fs.Int64("document-kib", scale.DefaultDocumentSize>>10, "size of each document in KiB")
	manifest := fs.String("manifest", "", "write what was added (users, item and document ids by space) as JSON to this file, for plein-load")
	seed := fs.Uint64("seed", 1, "random seed: the same seed gives the same organisation (ids and times aside)")
	cfg, log, err := parse(args)
	if err != nil {
		return err
	}
	sizes := scale.Sizes{Users: *users, Items: *items, Likes: *likes, Documents: *docs, DocumentSize: *docKiB << 10}
	if *docKiB < 1 || *docKiB > scale.MaxDocumentSize>>10 {
		return fmt.Errorf("--document-kib: %d is out of range (1 to %d)", *docKiB, scale.MaxDocumentSize>>10)
	}
	if err := sizes.Check(); err != nil {
		return err
	}
	password := c.getenv("PLEIN_DEMO_PASSWORD")
	if password == "" {
		password = defaultDemoPassword
	}
	ctx := context.Background()
	d, closeAll, err := scaleDeps(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer closeAll()
	d.Password, d.Seed, d.Progress = password, *seed, c.stdout
	start := time.Now()
	res, err := scale.Seed(ctx, d, sizes)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "Grew the demo organisation by %d users, %d items with %d comments, %d likes on %d items and %d documents in %s (%s).\n",
		res.Users, res.Items, res.Comments, res.Likes, res.LikedItems, res.Documents, time.Since(start).Round(time.Millisecond), d.DB.Dialect())
	if *manifest == "" {
		return nil
	}
	return writeJSON(*manifest, res.Manifest)
}

// scaleDeps builds what seeding at scale writes through: the database and blob store
// of cfg and the domain services over them, without the plugin host, Redis or the
// API, so no plugin process starts while the seed runs.
func scaleDeps(ctx context.Context, cfg config.Config, log *slog.Logger) (scale.Deps, func(), error) {
	db, err := app.OpenDB(ctx, cfg)
	if err != nil {
		return scale.Deps{}, nil, err
	}
	b := bus.NewMemory()
	closeAll := func() { _ = b.Close(); _ = db.Close() }
	fail := func(err error) (scale.Deps, func(), error) { closeAll(); return scale.Deps{}, nil, err }
	var blobs blob.Store
	if cfg.S3.Enabled() {
		blobs, err = blob.NewS3(ctx, blob.S3Config{Endpoint: cfg.S3.Endpoint, Bucket: cfg.S3.Bucket, AccessKey: cfg.S3.AccessKey,
			SecretKey: cfg.S3.SecretKey, Region: cfg.S3.Region, UseSSL: cfg.S3.UseSSL})
		if err != nil {
			return fail(fmt.Errorf("PLEIN_S3_ENDPOINT: %w", err))
		}
	} else if blobs, err = blob.NewLocal(cfg.BlobDir()); err != nil {
		return fail(fmt.Errorf("PLEIN_DATA_DIR: %w", err))
	}
	n := changes.New(b, log)
	users := identity.New(db, ratelimit.NewMemory(), n, log, identity.Options{TokenTTL: cfg.TokenTTL})
	sp := spaces.New(db, n)
	az, err := authz.New(ctx, db, authzsource.New(users, sp), n, log)
	if err != nil {
		return fail(err)
	}
	cs := content.New(db, content.Options{Language: cfg.SearchLanguage})
	if err := cs.CheckLanguage(ctx); err != nil {
		return fail(fmt.Errorf("PLEIN_SEARCH_LANGUAGE: %w", err))
	}
	docs := documents.New(db, blobs, cs, log, documents.Options{MaxSize: cfg.UploadLimit})
	return scale.Deps{DB: db, Users: users, Authz: az, Docs: docs, Language: cs.Language()}, closeAll, nil
}

// writeJSON writes v to path through a temporary file, so a reader never sees half of it.
func writeJSON(path string, v any) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".manifest-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := json.NewEncoder(tmp).Encode(v); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil { // CreateTemp's 0600 is for secrets; this is not one
		return err
	}
	return os.Rename(tmp.Name(), path)
}
