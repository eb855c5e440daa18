"""The staff cockpit: the admin's menu grouped by the work, the role dashboards on its
index page. The top floor: it reads every app below it and nothing imports it."""
