package main

import (
	"time"

	"github.com/pleinhq/plein/sdk"
)

// questionView is a question as the API answers it.
type questionView struct {
	ID      string   `json:"id"`
	SpaceID string   `json:"space_id"`
	Title   string   `json:"title"`
	Body    string   `json:"body"`
	Tags    []string `json:"tags"`
	// Author is the asker's user id; null once their account is deleted.
	Author           *string    `json:"author"`
	Status           string     `json:"status"`
	Helpdesk         bool       `json:"helpdesk"`
	Assignee         *string    `json:"assignee"`
	AcceptedAnswerID *string    `json:"accepted_answer_id"`
	AnswerCount      int        `json:"answer_count"`
	CreatedAt        time.Time  `json:"created_at"`
	UpdatedAt        time.Time  `json:"updated_at"`
	FirstAnswerAt    *time.Time `json:"first_answer_at"`
	ResolvedAt       *time.Time `json:"resolved_at"`
}

// questionDetail is GET /questions/{id}: the question and its first answers, best
// first.
type questionDetail struct {
	questionView
	Answers           []answerView `json:"answers"`
	AnswersNextCursor *string      `json:"answers_next_cursor"`
}

// similarView is a question GET /questions/similar found, with its accepted answer.
type similarView struct {
	questionView
	AcceptedAnswer *answerView `json:"accepted_answer"`
}

// answerView is an answer as the API answers it.
type answerView struct {
	ID         string    `json:"id"`
	QuestionID string    `json:"question_id"`
	Author     *string   `json:"author"`
	Body       string    `json:"body"`
	Accepted   bool      `json:"accepted"`
	Score      int       `json:"score"`
	Up         int       `json:"up"`
	Down       int       `json:"down"`
	MyVote     int       `json:"my_vote"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// tallyView is an answer's votes, as the vote routes answer them.
type tallyView struct {
	Score  int `json:"score"`
	Up     int `json:"up"`
	Down   int `json:"down"`
	MyVote int `json:"my_vote"`
}

// orNull returns nil for "", else &s.
func orNull(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func (p *Plugin) questionView(it sdk.Item, r record) questionView {
	_, helpdesk := p.helpdeskRole(r.SpaceID)
	v := questionView{
		ID: it.ID, SpaceID: it.SpaceID, Title: it.Title, Body: it.Body, Tags: r.Tags, Author: orNull(it.AuthorID),
		Status: r.Status, Helpdesk: helpdesk, AcceptedAnswerID: orNull(r.AcceptedAnswerID), AnswerCount: r.AnswerCount,
		CreatedAt: it.CreatedAt, UpdatedAt: it.UpdatedAt, FirstAnswerAt: r.FirstAnswerAt, ResolvedAt: r.ResolvedAt,
	}
	if v.Tags == nil {
		v.Tags = []string{}
	}
	if helpdesk {
		v.Assignee = orNull(r.Assignee)
	}
	return v
}

func answerViewOf(it sdk.Item, q string, r answerRecord, accepted bool, myVote int) answerView {
	return answerView{
		ID: it.ID, QuestionID: q, Author: orNull(it.AuthorID), Body: it.Body, Accepted: accepted,
		Score: r.Score, Up: r.Up, Down: r.Down, MyVote: myVote, CreatedAt: it.CreatedAt, UpdatedAt: it.UpdatedAt,
	}
}
