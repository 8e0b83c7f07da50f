/* Drover UI: the few live parts. Every page works without this file. */
'use strict';

/* Ask before destructive form submissions (buttons with data-confirm). */
document.addEventListener('submit', function (ev) {
  var b = ev.submitter;
  if (b && b.dataset.confirm && !window.confirm(b.dataset.confirm)) {
    ev.preventDefault();
  }
});

/* Follow a job's output over server-sent events; reload once it has ended. */
function followJob(pre) {
  var url = pre.dataset.events;
  if (!url || !window.EventSource) {
    return;
  }
  var es = new EventSource(url);
  var atBottom = function () {
    return pre.scrollHeight - pre.scrollTop - pre.clientHeight < 40;
  };
  es.onmessage = function (ev) {
    var stick = atBottom();
    pre.appendChild(document.createTextNode(ev.data));
    if (stick) {
      pre.scrollTop = pre.scrollHeight;
    }
  };
  es.addEventListener('end', function (ev) {
    es.close();
    var state = document.getElementById('job-state');
    if (state) {
      state.textContent = ev.data;
      state.className = 'state state-' + ev.data;
    }
    var hint = document.getElementById('live-hint');
    if (hint) {
      hint.textContent = 'The job has ended (' + ev.data + ').';
    }
    /* The per-item results and the actions are rendered by the server. */
    window.setTimeout(function () { window.location.reload(); }, 1500);
  });
}

document.addEventListener('DOMContentLoaded', function () {
  var pre = document.getElementById('output');
  if (pre) {
    followJob(pre);
  }
});
