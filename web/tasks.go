package web

import (
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/backstop-appliance/backstop/internal/appliance"
)

// Bounds of GET /api/v1/tasks.
const (
	defaultTaskLimit = 50
	maxTaskLimit     = 500
)

// taskLog is what the server needs of the core's task log (an
// *appliance.TaskLog).
type taskLog interface {
	List(f appliance.TaskFilter) ([]appliance.Task, bool)
	Get(id int64) (appliance.Task, error)
	Cancel(id int64) error
}

func (s *Server) tasks() taskLog { return s.opts.Core.Tasks() }

// taskView is a task as the caller may see it. A task with pool figures
// (housekeeping, verify) shows its state and times to everyone, its
// progress, text and log to those who see the pool's figures only
// (FiguresHidden says so), as GET /api/v1/verify and /housekeeping do.
type taskView struct {
	appliance.Task
	FiguresHidden bool `json:"figures_hidden"`
}

// taskDetail is GET /api/v1/tasks/{id}: a task with its log.
type taskDetail struct {
	taskView
	Log []appliance.TaskLine `json:"log"`
}

// taskPage is a page of GET /api/v1/tasks; Next is the cursor of the
// next page, "" on the last.
type taskPage struct {
	Tasks []taskView `json:"tasks"`
	Next  string     `json:"next"`
}

// taskFor is t as the caller may see it.
func (s *Server) taskFor(c *gin.Context, t appliance.Task) taskView {
	if !t.Pool || s.seesPool(user(c)) {
		return taskView{Task: t}
	}
	t.Progress, t.Text, t.Lines, t.Log = 0, "", 0, nil
	return taskView{Task: t, FiguresHidden: true}
}

// taskVisible reports whether the caller may see a task at all: one
// about a store's items (a replication pass) only if he may read the
// store, as with the replication mappings.
func (s *Server) taskVisible(c *gin.Context) func(appliance.Task) bool {
	readable := s.readable(user(c))
	return func(t appliance.Task) bool { return t.Store == "" || readable(t.Store) }
}

// taskStates are the states GET /api/v1/tasks?state= takes.
var taskStates = []string{appliance.JobRunning, appliance.JobDone, appliance.JobFailed, appliance.JobCancelled, appliance.TaskInterrupted}

// taskKinds are the kinds GET /api/v1/tasks?kind= takes.
var taskKinds = []string{appliance.TaskHousekeeping, appliance.TaskVerify, appliance.TaskReplication}

// oneOf is the check of a query value that must be one of want, or "".
func oneOf(v string, want []string) bool {
	if v == "" {
		return true
	}
	for _, w := range want {
		if v == w {
			return true
		}
	}
	return false
}

// listTasks handles GET /api/v1/tasks?kind=&state=&limit=&cursor=: the
// tasks, newest first.
func (s *Server) listTasks(c *gin.Context) {
	f := appliance.TaskFilter{Kind: c.Query("kind"), State: c.Query("state"), Limit: defaultTaskLimit}
	if !oneOf(f.Kind, taskKinds) {
		s.fail(c, invalid("kind %q: want one of %v", f.Kind, taskKinds))
		return
	}
	if !oneOf(f.State, taskStates) {
		s.fail(c, invalid("state %q: want one of %v", f.State, taskStates))
		return
	}
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxTaskLimit {
			s.fail(c, invalid("limit %q: a number from 1 to %d", v, maxTaskLimit))
			return
		}
		f.Limit = n
	}
	if v := c.Query("cursor"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			s.fail(c, invalid("cursor %q: pass the next of the page before", v))
			return
		}
		f.Before = n
	}
	f.Visible = s.taskVisible(c)
	tasks, more := s.tasks().List(f)
	page := taskPage{Tasks: make([]taskView, 0, len(tasks))}
	for _, t := range tasks {
		page.Tasks = append(page.Tasks, s.taskFor(c, t))
	}
	if more {
		page.Next = strconv.FormatInt(tasks[len(tasks)-1].ID, 10)
	}
	c.JSON(http.StatusOK, page)
}

// taskID is the task's ID in the path; a path that names none is not
// found.
func (s *Server) taskID(c *gin.Context) (int64, bool) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id < 1 {
		s.fail(c, errorf(http.StatusNotFound, codeNotFound, "task %q not found", c.Param("id")))
		return 0, false
	}
	return id, true
}

// getTask handles GET /api/v1/tasks/{id}: the task with its log.
func (s *Server) getTask(c *gin.Context) {
	id, ok := s.taskID(c)
	if !ok {
		return
	}
	t, err := s.tasks().Get(id)
	if err == nil && !s.taskVisible(c)(t) {
		err = errorf(http.StatusNotFound, codeNotFound, "task %d not found", id)
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	v := s.taskFor(c, t)
	d := taskDetail{taskView: v, Log: v.Log}
	if d.Log == nil {
		d.Log = []appliance.TaskLine{}
	}
	c.JSON(http.StatusOK, d)
}

// cancelTask handles POST /api/v1/tasks/{id}/cancel (operator): it ends
// the task and answers once it has ended.
func (s *Server) cancelTask(c *gin.Context) {
	id, ok := s.taskID(c)
	if !ok {
		return
	}
	if t, err := s.tasks().Get(id); err == nil && !s.taskVisible(c)(t) {
		s.fail(c, errorf(http.StatusNotFound, codeNotFound, "task %d not found", id))
		return
	}
	if err := s.tasks().Cancel(id); err != nil {
		s.fail(c, err)
		return
	}
	t, err := s.tasks().Get(id)
	if err != nil {
		s.fail(c, err)
		return
	}
	s.audit(c, "task.cancel", strconv.FormatInt(id, 10), "cancelled task %d (%s)", id, t.Kind)
	c.JSON(http.StatusOK, s.taskFor(c, t))
}
