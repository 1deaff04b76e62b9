package api

import (
	"encoding/json"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/pleinhq/plein/core/authz"
	"github.com/pleinhq/plein/core/content"
	"github.com/pleinhq/plein/core/fault"
)

// scope is what the caller may read, for the content queries' SQL filters.
func (s *Server) scope(p *authz.Principal) content.Scope {
	set := s.authz.Readable(p)
	return content.Scope{UserID: p.UserID, Roles: p.Roles, AllSpaces: set.All, Spaces: set.IDs}
}

type createPostRequest struct {
	Title       string   `json:"title"`
	Body        string   `json:"body"`
	Kind        string   `json:"kind"`
	Attachments []string `json:"attachments"`
}

func (s *Server) createPost(c *fiber.Ctx) error {
	p, spaceID := principal(c), c.Params("id")
	var req createPostRequest
	if err := s.decodeJSON(c, &req); err != nil {
		return err
	}
	if req.Kind == "" {
		req.Kind = content.KindPost
	}
	if req.Kind != content.KindPost && req.Kind != content.KindNews {
		return fault.Invalidf("kind", `must be "post" or "news"`)
	}
	if err := s.authz.CheckCreateItem(p, spaceID, req.Kind); err != nil {
		return err
	}
	if err := s.content.CheckAttachable(c.UserContext(), s.scope(p), req.Attachments); err != nil {
		return err
	}
	it, err := s.content.Create(c.UserContext(), p.UserID, spaceID, content.NewItem{Kind: req.Kind, Title: req.Title, Body: req.Body,
		Attachments: req.Attachments})
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(it)
}

type createPageRequest struct {
	Title       string   `json:"title"`
	Body        string   `json:"body"`
	ParentID    *string  `json:"parent_id"`
	Position    *int     `json:"position"`
	Attachments []string `json:"attachments"`
}

func (s *Server) createPage(c *fiber.Ctx) error {
	p, spaceID := principal(c), c.Params("id")
	var req createPageRequest
	if err := s.decodeJSON(c, &req); err != nil {
		return err
	}
	if err := s.authz.CheckCreateItem(p, spaceID, content.KindPage); err != nil {
		return err
	}
	if req.ParentID != nil {
		// The parent must be a page the author can read, not just any id.
		if _, err := s.content.Get(c.UserContext(), s.scope(p), *req.ParentID); err != nil {
			return fault.Invalidf("parent_id", "not a page of this space")
		}
	}
	if err := s.content.CheckAttachable(c.UserContext(), s.scope(p), req.Attachments); err != nil {
		return err
	}
	it, err := s.content.Create(c.UserContext(), p.UserID, spaceID, content.NewItem{Kind: content.KindPage, Title: req.Title,
		Body: req.Body, ParentID: req.ParentID, Position: req.Position, Attachments: req.Attachments})
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(it)
}

func (s *Server) pageTree(c *fiber.Ctx) error {
	p, spaceID := principal(c), c.Params("id")
	if err := s.authz.RequireSpace(p, spaceID, "content", "read"); err != nil {
		return err
	}
	tree, err := s.content.PageTree(c.UserContext(), s.scope(p), spaceID)
	if err != nil {
		return err
	}
	return c.JSON(newList(tree, false, nil))
}

func (s *Server) getItem(c *fiber.Ctx) error {
	it, err := s.content.Get(c.UserContext(), s.scope(principal(c)), c.Params("id"))
	if err != nil {
		return err
	}
	s.decorate(c, []*content.Item{&it})
	return c.JSON(it)
}

// patchItemRequest keeps parent_id raw: absent (stay), null (top level) and an id differ.
type patchItemRequest struct {
	Title       *string         `json:"title"`
	Body        *string         `json:"body"`
	Kind        *string         `json:"kind"`
	ParentID    json.RawMessage `json:"parent_id"`
	Position    *int            `json:"position"`
	Attachments *[]string       `json:"attachments"`
}

func (s *Server) patchItem(c *fiber.Ctx) error {
	p := principal(c)
	var req patchItemRequest
	if err := s.decodeJSON(c, &req); err != nil {
		return err
	}
	sc := s.scope(p)
	it, err := s.content.Get(c.UserContext(), sc, c.Params("id"))
	if err != nil {
		return err
	}
	if err := s.authz.CheckEditContent(p, it.SpaceID, authorID(it.Author)); err != nil {
		return err
	}
	patch := content.ItemPatch{Title: req.Title, Body: req.Body, Kind: req.Kind, Position: req.Position, Attachments: req.Attachments}
	if req.Attachments != nil {
		if err := s.content.CheckAttachable(c.UserContext(), sc, *req.Attachments); err != nil {
			return err
		}
	}
	if req.Kind != nil && *req.Kind == content.KindNews && it.Kind != content.KindNews {
		if err := s.authz.CheckCreateItem(p, it.SpaceID, content.KindNews); err != nil {
			return err
		}
	}
	if req.ParentID != nil {
		patch.MoveParent = true
		if string(req.ParentID) != "null" {
			var id string
			if err := json.Unmarshal(req.ParentID, &id); err != nil {
				return fault.Invalidf("parent_id", "a page id or null")
			}
			if _, err := s.content.Get(c.UserContext(), sc, id); err != nil {
				return fault.Invalidf("parent_id", "not a page of this space")
			}
			patch.ParentID = &id
		}
	}
	it, err = s.content.Update(c.UserContext(), p.UserID, it, patch)
	if err != nil {
		return err
	}
	return c.JSON(it)
}

func authorID(p *content.Person) string {
	if p == nil {
		return ""
	}
	return p.ID
}

func (s *Server) deleteItem(c *fiber.Ctx) error {
	p := principal(c)
	it, err := s.content.Get(c.UserContext(), s.scope(p), c.Params("id"))
	if err != nil {
		return err
	}
	if err := s.authz.CheckEditContent(p, it.SpaceID, authorID(it.Author)); err != nil {
		return err
	}
	if it.Kind == content.KindDocument {
		// A document goes to the trash, whichever route deletes it.
		if err := s.documents.Delete(c.UserContext(), p.UserID, it.ID); err != nil {
			return err
		}
		return c.SendStatus(fiber.StatusNoContent)
	}
	if err := s.content.Delete(c.UserContext(), it); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (s *Server) listComments(c *fiber.Ctx) error {
	p := principal(c)
	pg, err := pageOf(queryOf(c), 2)
	if err != nil {
		return err
	}
	it, err := s.content.Get(c.UserContext(), s.scope(p), c.Params("id"))
	if err != nil {
		return err
	}
	cp := content.CommentPage{Limit: pg.limit}
	if pg.cursor != nil {
		if cp.AfterCreated, err = strconv.ParseInt(pg.cursor[0], 10, 64); err != nil {
			return fault.Invalidf("cursor", "not a cursor this list gave out")
		}
		cp.AfterID = pg.cursor[1]
	}
	list, more, err := s.content.Comments(c.UserContext(), it.ID, cp)
	if err != nil {
		return err
	}
	return c.JSON(newList(list, more, func(cm content.Comment) []string {
		return []string{strconv.FormatInt(cm.CreatedAt.UnixMicro(), 10), cm.ID}
	}))
}

type commentRequest struct {
	Body     string  `json:"body"`
	ParentID *string `json:"parent_id"`
}

func (s *Server) createComment(c *fiber.Ctx) error {
	p := principal(c)
	var req commentRequest
	if err := s.decodeJSON(c, &req); err != nil {
		return err
	}
	it, err := s.content.Get(c.UserContext(), s.scope(p), c.Params("id"))
	if err != nil {
		return err
	}
	if err := s.authz.RequireSpace(p, it.SpaceID, "comment", "create"); err != nil {
		return err
	}
	cm, err := s.content.AddComment(c.UserContext(), p.UserID, it.ID, req.Body, req.ParentID)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(cm)
}

// commentToEdit finds a comment whose item the caller reads and which they may change.
func (s *Server) commentToEdit(c *fiber.Ctx) (content.Comment, error) {
	p := principal(c)
	cm, err := s.content.GetComment(c.UserContext(), c.Params("id"))
	if err != nil {
		return cm, err
	}
	it, err := s.content.Get(c.UserContext(), s.scope(p), cm.ItemID)
	if err != nil {
		return cm, fault.NotFoundf("no such comment")
	}
	return cm, s.authz.CheckEditContent(p, it.SpaceID, authorID(cm.Author))
}

type patchCommentRequest struct {
	Body string `json:"body"`
}

func (s *Server) patchComment(c *fiber.Ctx) error {
	var req patchCommentRequest
	if err := s.decodeJSON(c, &req); err != nil {
		return err
	}
	cm, err := s.commentToEdit(c)
	if err != nil {
		return err
	}
	cm, err = s.content.UpdateComment(c.UserContext(), cm, req.Body)
	if err != nil {
		return err
	}
	return c.JSON(cm)
}

func (s *Server) deleteComment(c *fiber.Ctx) error {
	cm, err := s.commentToEdit(c)
	if err != nil {
		return err
	}
	if err := s.content.DeleteComment(c.UserContext(), cm); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

// listFilters reads ?space= and ?kind= shared by the feed and search. A space the
// caller may not read is an error, not an empty list.
func (s *Server) listFilters(c *fiber.Ctx, q map[string]string) (space, kind string, err error) {
	space, kind = q["space"], q["kind"]
	if hasKey(q, "space") {
		if err := s.authz.RequireSpace(principal(c), space, "content", "read"); err != nil {
			return "", "", err
		}
	}
	if hasKey(q, "kind") && !content.ValidKind(kind) {
		return "", "", fault.Invalidf("kind", "not an item kind")
	}
	return space, kind, nil
}

func (s *Server) feed(c *fiber.Ctx) error {
	q := queryOf(c)
	pg, err := pageOf(q, 2)
	if err != nil {
		return err
	}
	space, kind, err := s.listFilters(c, q)
	if err != nil {
		return err
	}
	fq := content.FeedQuery{Space: space, Kind: kind, Tag: q["tag"], Limit: pg.limit}
	if pg.cursor != nil {
		if fq.BeforeCreated, err = strconv.ParseInt(pg.cursor[0], 10, 64); err != nil {
			return fault.Invalidf("cursor", "not a cursor this list gave out")
		}
		fq.BeforeID = pg.cursor[1]
	}
	items, more, err := s.content.Feed(c.UserContext(), s.scope(principal(c)), fq)
	if err != nil {
		return err
	}
	ptrs := make([]*content.Item, len(items))
	for i := range items {
		ptrs[i] = &items[i]
	}
	s.decorate(c, ptrs)
	return c.JSON(newList(items, more, func(it content.Item) []string {
		return []string{strconv.FormatInt(it.CreatedAt.UnixMicro(), 10), it.ID}
	}))
}

func (s *Server) search(c *fiber.Ctx) error {
	q := queryOf(c)
	pg, err := pageOf(q, 2)
	if err != nil {
		return err
	}
	if !hasKey(q, "q") {
		return fault.Invalidf("q", "required: the words to look for")
	}
	space, kind, err := s.listFilters(c, q)
	if err != nil {
		return err
	}
	sq := content.SearchQuery{Q: q["q"], Space: space, Kind: kind, Limit: pg.limit}
	if pg.cursor != nil {
		r, err := strconv.ParseFloat(pg.cursor[0], 64)
		if err != nil {
			return fault.Invalidf("cursor", "not a cursor this list gave out")
		}
		sq.AfterRank, sq.AfterID = &r, pg.cursor[1]
	}
	hits, more, err := s.content.Search(c.UserContext(), s.scope(principal(c)), sq)
	if err != nil {
		return err
	}
	ptrs := make([]*content.Item, len(hits))
	for i := range hits {
		ptrs[i] = &hits[i].Item
	}
	s.decorate(c, ptrs)
	return c.JSON(newList(hits, more, func(h content.Hit) []string {
		return []string{strconv.FormatFloat(h.Rank, 'g', -1, 64), h.ID}
	}))
}
