package documents

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/pleinhq/plein/core/content"
	"github.com/pleinhq/plein/core/store"
)

// SweepResult counts what one Sweep did.
type SweepResult struct {
	Abandoned int // uploads that never committed, moved to the trash
	Purged    int // documents whose time in the trash was up, deleted with their versions
	Deleted   int // blobs deleted from the store
	Left      int // blobs still in the trash because the store did not answer
}

// Sweep cleans up after failures and crashes, and purges the trash: uploads abandoned
// or silent for longer than Options.StaleUpload go to the blob trash, deleted documents
// older than Options.Retention are purged (their versions' blobs go to the blob trash
// by trigger), and the blob trash is emptied. Every step is safe to run on several
// replicas at once.
func (s *Service) Sweep(ctx context.Context) (SweepResult, error) {
	var res SweepResult
	var err error
	if res.Abandoned, err = s.sweepUploads(ctx); err != nil {
		return res, fmt.Errorf("sweep uploads: %w", err)
	}
	if res.Purged, err = s.purge(ctx); err != nil {
		return res, fmt.Errorf("purge documents: %w", err)
	}
	if res.Deleted, res.Left, err = s.emptyTrash(ctx); err != nil {
		return res, fmt.Errorf("empty blob trash: %w", err)
	}
	return res, nil
}

func (s *Service) sweepUploads(ctx context.Context) (int, error) {
	cutoff := store.Micros(s.now().Add(-s.opts.StaleUpload))
	rows, err := s.db.QueryContext(ctx, `SELECT blob_key FROM blob_uploads WHERE abandoned OR touched_at < $1`, cutoff)
	if err != nil {
		return 0, err
	}
	keys, err := scanStrings(rows)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, k := range keys {
		if err := s.trash(ctx, k); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// trash ends an upload's reservation and queues its blob for deletion, in one
// transaction: a commit racing with it finds the reservation gone and fails.
func (s *Service) trash(ctx context.Context, key string) error {
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM blob_uploads WHERE blob_key = $1`, key)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil // committed or swept meanwhile
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO blob_trash (blob_key, queued_at) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
			key, store.Micros(s.now()))
		return err
	})
}

func (s *Service) purge(ctx context.Context) (int, error) {
	cutoff := store.Micros(s.now().Add(-s.opts.Retention))
	rows, err := s.db.QueryContext(ctx, `SELECT id FROM items WHERE kind = $1 AND deleted_at < $2`, content.KindDocument, cutoff)
	if err != nil {
		return 0, err
	}
	ids, err := scanStrings(rows)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, id := range ids {
		// Restored meanwhile? Then deleted_at is NULL and nothing goes.
		res, err := s.db.ExecContext(ctx, `DELETE FROM items WHERE id = $1 AND deleted_at < $2`, id, cutoff)
		if err != nil {
			return n, err
		}
		if k, _ := res.RowsAffected(); k > 0 {
			n++
		}
	}
	return n, nil
}

// emptyTrash deletes the queued blobs, forgetting each only once the store has let go
// of it. A store that does not answer leaves the rest for the next sweep.
func (s *Service) emptyTrash(ctx context.Context) (deleted, left int, err error) {
	for {
		rows, err := s.db.QueryContext(ctx, `SELECT blob_key FROM blob_trash ORDER BY queued_at, blob_key LIMIT 500`)
		if err != nil {
			return deleted, left, err
		}
		keys, err := scanStrings(rows)
		if err != nil || len(keys) == 0 {
			return deleted, left, err
		}
		for _, k := range keys {
			if err := s.deleteTrashed(ctx, k); err != nil {
				s.log.Warn("blob trash: store not answering; next sweep retries", "err", err)
				var n int
				if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM blob_trash`).Scan(&n); err == nil {
					left = n
				}
				return deleted, left, nil
			}
			deleted++
		}
	}
}

// deleteTrashed deletes one queued blob and then its queue entry.
func (s *Service) deleteTrashed(ctx context.Context, key string) error {
	if err := s.blobs.Delete(ctx, key); err != nil {
		return err
	}
	_, err := s.db.ExecContext(ctx, `DELETE FROM blob_trash WHERE blob_key = $1`, key)
	return err
}

func scanStrings(rows *sql.Rows) ([]string, error) {
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
