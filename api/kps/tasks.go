package kps

import (
	"context"
	"net/http"
	"strconv"

	"github.com/keyhaven/keyhaven/keypair"
	"github.com/keyhaven/keyhaven/task"
)

// taskRoute picks the task operation for the path after /v3/{project_id}
// (tasks/…, running-tasks, failed-tasks/…).
func taskRoute(method string, rest []string) (operation, string, string, ErrorCode) {
	switch {
	case len(rest) == 2 && rest[0] == "tasks":
		return pickOp(method, "GET", map[string]entry{"GET": {(*Handler).showTask, ErrDatabaseQuery}}, rest[1])
	case len(rest) == 1 && rest[0] == "running-tasks":
		return pickOp(method, "GET", map[string]entry{"GET": {(*Handler).runningTasks, ErrDatabaseQuery}}, "")
	case len(rest) == 1 && rest[0] == "failed-tasks":
		return pickOp(method, "GET, DELETE", map[string]entry{"GET": {(*Handler).failedTasks, ErrDatabaseQuery},
			"DELETE": {(*Handler).deleteAllFailed, ErrDatabaseDelete}}, "")
	case len(rest) == 2 && rest[0] == "failed-tasks":
		return pickOp(method, "DELETE", map[string]entry{"DELETE": {(*Handler).deleteFailed, ErrDatabaseDelete}}, rest[1])
	}
	return nil, "", "", ErrorCode{}
}

// dispatchView answers associate, disassociate and each batch item:
// status says whether the task was accepted, not whether it is done.
type dispatchView struct {
	TaskID    string `json:"task_id,omitempty"`
	ServerID  string `json:"server_id"`
	Status    string `json:"status"`
	ErrorCode string `json:"error_code,omitempty"`
	ErrorMsg  string `json:"error_msg,omitempty"`
}

func accepted(t *task.Task) dispatchView {
	return dispatchView{TaskID: t.ID, ServerID: t.ServerID, Status: "SUCCESS"}
}

func (h *Handler) associate(q request, _ string) error {
	var b associateBody
	if err := decode(q.r, &b); err != nil {
		return err
	}
	in, err := associateInput(&b)
	if err != nil {
		return err
	}
	t, err := h.tasks.Associate(q.r.Context(), q.actor, in)
	if err != nil {
		return err
	}
	writeJSON(q.w, http.StatusOK, accepted(t))
	return nil
}

func (h *Handler) disassociate(q request, _ string) error {
	var b disassociateBody
	if err := decode(q.r, &b); err != nil {
		return err
	}
	in, err := disassociateInput(&b)
	if err != nil {
		return err
	}
	t, err := h.tasks.Disassociate(q.r.Context(), q.actor, in)
	if err != nil {
		return err
	}
	// Huawei answers 202 here, 200 for associate.
	writeJSON(q.w, http.StatusAccepted, accepted(t))
	return nil
}

func (h *Handler) batchAssociate(q request, _ string) error {
	var b batchAssociateBody
	if err := decode(q.r, &b); err != nil {
		return err
	}
	if b.BatchKeypairs == nil {
		return fail(ErrInvalidParameter, "batch_keypairs is required.")
	}
	items := *b.BatchKeypairs
	if len(items) == 0 || len(items) > task.MaxBatch {
		return fail(ErrInvalidParameter, "batch_keypairs must list 1 to %d associations; it lists %d.", task.MaxBatch, len(items))
	}
	// Items that are invalid on their own fail on their own; the rest go
	// to the domain together.
	views := make([]dispatchView, len(items))
	var ins []task.AssociateInput
	var at []int
	for i := range items {
		in, err := associateInput(&items[i])
		if err != nil {
			code, msg := codeOf(err)
			views[i] = dispatchView{ServerID: in.ServerID, Status: "FAILED", ErrorCode: code.Code, ErrorMsg: msg}
			if items[i].Server != nil && items[i].Server.ID != nil {
				views[i].ServerID = *items[i].Server.ID
			}
			continue
		}
		ins, at = append(ins, in), append(at, i)
	}
	if len(ins) > 0 {
		res, err := h.tasks.BatchAssociate(q.r.Context(), q.actor, ins)
		if err != nil {
			return err
		}
		for j, r := range res {
			if r.Err != nil {
				code, msg := codeOf(r.Err)
				views[at[j]] = dispatchView{ServerID: r.ServerID, Status: "FAILED", ErrorCode: code.Code, ErrorMsg: msg}
				continue
			}
			views[at[j]] = accepted(r.Task)
		}
	}
	writeJSON(q.w, http.StatusOK, map[string]any{"tasks": views})
	return nil
}

func (h *Handler) showTask(q request, id string) error {
	t, err := h.tasks.Get(q.r.Context(), q.actor, id)
	if err != nil {
		return err
	}
	writeJSON(q.w, http.StatusOK, map[string]string{"task_id": t.ID, "server_id": t.ServerID, "task_status": t.Status()})
	return nil
}

// taskItem is an entry of running-tasks and failed-tasks; task_time is a
// string of milliseconds since the epoch, as Huawei's.
type taskItem struct {
	TaskID        string  `json:"task_id"`
	OperateType   string  `json:"operate_type"`
	TaskTime      string  `json:"task_time"`
	ServerName    string  `json:"server_name"`
	ServerID      string  `json:"server_id"`
	KeypairName   string  `json:"keypair_name"`
	TaskErrorCode *string `json:"task_error_code,omitempty"`
	TaskErrorMsg  *string `json:"task_error_msg,omitempty"`
}

// page reads limit and offset; Huawei's clients page by offset alone.
func page(q request) (offset, limit int, err error) {
	qs := q.r.URL.Query()
	for k := range qs {
		if k != "limit" && k != "offset" {
			return 0, 0, fail(ErrInvalidParameter, "The query parameter %s is not supported.", k)
		}
	}
	limit = task.DefaultListLimit
	if s := qs.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > task.MaxListLimit {
			return 0, 0, fail(ErrInvalidParameter, "limit must be a whole number from 1 to %d.", task.MaxListLimit)
		}
		limit = n
	}
	if s := qs.Get("offset"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 || n > 1<<31-1 {
			return 0, 0, fail(ErrInvalidParameter, "offset must be a whole number from 0 up.")
		}
		offset = n
	}
	return offset, limit, nil
}

func (h *Handler) runningTasks(q request, _ string) error {
	return h.listTasks(q, h.tasks.Running, false)
}

func (h *Handler) failedTasks(q request, _ string) error {
	return h.listTasks(q, h.tasks.Failed, true)
}

func (h *Handler) listTasks(q request, list func(ctx context.Context, a keypair.Actor, offset, limit int) ([]*task.Task, int, error), failed bool) error {
	offset, limit, err := page(q)
	if err != nil {
		return err
	}
	ts, total, err := list(q.r.Context(), q.actor, offset, limit)
	if err != nil {
		return err
	}
	items := make([]taskItem, 0, len(ts))
	for _, t := range ts {
		it := taskItem{TaskID: t.ID, OperateType: t.Status(), TaskTime: strconv.FormatInt(t.CreatedAt.UnixMilli(), 10),
			ServerName: t.ServerName, ServerID: t.ServerID, KeypairName: t.KeyPairName}
		if failed {
			code, msg := TaskErrorCode(t.ErrorCode).Code, t.ErrorMessage
			it.TaskErrorCode, it.TaskErrorMsg = &code, &msg
		}
		items = append(items, it)
	}
	writeJSON(q.w, http.StatusOK, map[string]any{"total": total, "tasks": items})
	return nil
}

func (h *Handler) deleteFailed(q request, id string) error {
	if err := h.tasks.DeleteFailed(q.r.Context(), q.actor, id); err != nil {
		return err
	}
	// Huawei answers 200 with an empty body.
	q.w.WriteHeader(http.StatusOK)
	return nil
}

func (h *Handler) deleteAllFailed(q request, _ string) error {
	if _, err := h.tasks.DeleteAllFailed(q.r.Context(), q.actor); err != nil {
		return err
	}
	q.w.WriteHeader(http.StatusOK)
	return nil
}
